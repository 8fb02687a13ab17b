"""The OVF descriptor, the manifest and the OVA of the appliance (appliance/build.sh).

    python3 appliance/ova.py --name NAME --version V --dir DIR --disk-size 8G

DIR holds NAME-disk1.vmdk (streamOptimized); writes NAME.ovf, NAME.mf and NAME.ova (a ustar
tar: the .ovf first, then the .mf, then the disk). The properties come from
appliance/properties.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tarfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

HERE = Path(__file__).resolve().parent
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def product_properties() -> str:
    properties = json.loads((HERE / "properties.json").read_text(encoding="utf-8"))["properties"]
    lines, category = [], None
    for prop in properties:
        if prop["category"] != category:
            category = prop["category"]
            lines.append(f"      <Category>{category}</Category>")
        attrs = [f"ovf:key={quoteattr(prop['key'])}", f"ovf:type={quoteattr(prop['type'])}",
                 "ovf:userConfigurable=\"true\"", f"ovf:value={quoteattr(prop['default'])}"]
        if "qualifiers" in prop:
            attrs.append(f"ovf:qualifiers={quoteattr(prop['qualifiers'])}")
        if prop.get("password"):
            attrs.append("ovf:password=\"true\"")
        lines.append(f"      <Property {' '.join(attrs)}>\n"
                     f"        <Label>{prop['label']}</Label>\n"
                     f"        <Description>{_text(prop['description'])}</Description>\n"
                     "      </Property>")
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def descriptor(name: str, version: str, disk: Path, capacity: int) -> str:
    template = (HERE / "harbor-twisted.ovf.in").read_text(encoding="utf-8")
    return (template.replace("@NAME@", name).replace("@VERSION@", version)
            .replace("@DISK_FILE@", disk.name).replace("@DISK_SIZE@", str(disk.stat().st_size))
            .replace("@CAPACITY@", str(capacity)).replace("@PROPERTIES@", product_properties()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--disk-size", required=True)
    args = parser.parse_args()
    capacity = int(args.disk_size[:-1]) * UNITS[args.disk_size[-1].upper()]
    disk = args.dir / f"{args.name}-disk1.vmdk"
    ovf = args.dir / f"{args.name}.ovf"
    manifest = args.dir / f"{args.name}.mf"
    ovf.write_text(descriptor(args.name, args.version, disk, capacity), encoding="utf-8")
    manifest.write_text("".join(f"SHA256({path.name})= {sha256(path)}\n" for path in (ovf, disk)),
                        encoding="ascii")
    ova = args.dir / f"{args.name}.ova"
    with tarfile.open(ova.with_suffix(".ova.part"), "w", format=tarfile.USTAR_FORMAT) as tar:
        for path in (ovf, manifest, disk):
            info = tar.gettarinfo(str(path), arcname=path.name)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    ova.with_suffix(".ova.part").rename(ova)


if __name__ == "__main__":
    main()
