"""The OVA's structure: tar order, manifest digests, the OVF descriptor and its properties."""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.appliance.conftest import ROOT

OVF = "{http://schemas.dmtf.org/ovf/envelope/1}"
RASD = "{http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData}"
PROPERTIES = json.loads((ROOT / "appliance" / "properties.json").read_text())["properties"]
# every key issue 15 lists, spelled as it does
ISSUE_KEYS = {
    "hostname", "ip_mode", "ip_address", "gateway", "dns", "root_password", "permit_root_login",
    "admin_password", "auth_mode", "ldap_url", "ldap_search_dn", "ldap_search_password",
    "ldap_base_dn", "ldap_uid", "ldap_filter", "ldap_group_base_dn", "ldap_group_admin_dn",
    "external_url", "tls_certificate", "tls_private_key",
}
SECRETS = {"root_password", "admin_password", "ldap_search_password", "tls_private_key"}


def test_tar_holds_the_ovf_first_then_the_manifest_then_the_disk(appliance_ova: Path) -> None:
    with tarfile.open(appliance_ova) as tar:
        members = tar.getmembers()
    names = [member.name for member in members]
    assert [Path(name).suffix for name in names] == [".ovf", ".mf", ".vmdk"], names
    assert all(member.isfile() and "/" not in member.name for member in members)
    with appliance_ova.open("rb") as handle:  # ustar, as OVF 1.x asks
        assert handle.read(512)[257:263] == b"ustar\x00"


def test_manifest_digests_match(ova_members: dict[str, Path]) -> None:
    lines = ova_members[".mf"].read_text().splitlines()
    listed = {}
    for line in lines:
        match = re.fullmatch(r"SHA256\((.+)\)= ([0-9a-f]{64})", line)
        assert match, line
        listed[match.group(1)] = match.group(2)
    assert set(listed) == {ova_members[".ovf"].name, ova_members[".vmdk"].name}
    folder = ova_members[".ovf"].parent
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_disk_is_a_stream_optimized_vmdk_the_ovf_references(ova_members: dict[str, Path]) -> None:
    disk = ova_members[".vmdk"]
    header = disk.read_bytes()[:4096]
    assert header[:4] == b"KDMV"
    assert b'createType="streamOptimized"' in disk.read_bytes()[:65536]
    envelope = ET.parse(ova_members[".ovf"]).getroot()
    file_ref = envelope.find(f"{OVF}References/{OVF}File")
    assert file_ref is not None
    assert file_ref.get(f"{OVF}href") == disk.name
    assert int(file_ref.get(f"{OVF}size", "0")) == disk.stat().st_size
    ovf_disk = envelope.find(f"{OVF}DiskSection/{OVF}Disk")
    assert ovf_disk is not None and "streamOptimized" in ovf_disk.get(f"{OVF}format", "")


def test_ovf_declares_the_hardware(ova_members: dict[str, Path]) -> None:
    envelope = ET.parse(ova_members[".ovf"]).getroot()
    items = envelope.findall(f".//{OVF}VirtualHardwareSection/{OVF}Item")
    by_type: dict[str, list[ET.Element]] = {}
    for item in items:
        by_type.setdefault(item.findtext(f"{RASD}ResourceType", ""), []).append(item)
    assert by_type["3"][0].findtext(f"{RASD}VirtualQuantity") == "2"  # vCPUs
    assert by_type["4"][0].findtext(f"{RASD}VirtualQuantity") == "4096"  # MiB
    assert len(by_type["10"]) == 1  # one NIC
    assert by_type["17"][0].findtext(f"{RASD}HostResource") == "ovf:/disk/vmdisk1"
    transport = envelope.find(f".//{OVF}VirtualHardwareSection").get(f"{OVF}transport", "")
    assert {"com.vmware.guestInfo", "iso"} <= set(transport.split())


def test_ovf_declares_every_property(ova_members: dict[str, Path]) -> None:
    envelope = ET.parse(ova_members[".ovf"]).getroot()
    declared = {prop.get(f"{OVF}key"): prop
                for prop in envelope.iterfind(f".//{OVF}ProductSection/{OVF}Property")}
    assert set(declared) == ISSUE_KEYS == {p["key"] for p in PROPERTIES}
    for key, prop in declared.items():
        assert prop.get(f"{OVF}type") in {"string", "boolean"}, key
        assert prop.findtext(f"{OVF}Description"), key
        assert prop.findtext(f"{OVF}Label"), key
        assert (prop.get(f"{OVF}password") == "true") == (key in SECRETS), key
    assert declared["permit_root_login"].get(f"{OVF}value") == "false"
    assert declared["auth_mode"].get(f"{OVF}qualifiers") == 'ValueMap{"db_auth","ldap_auth"}'
    assert declared["ip_mode"].get(f"{OVF}qualifiers") == 'ValueMap{"dhcp","static"}'
