"""The appliance's first-boot program given an OVF environment file (--environment, --force).

The program runs here with its folders moved under the test's own and a stand-in for
ansible-playbook that records what it was handed: the real play runs on a host in the
harbor_registry Molecule scenario (roles/harbor_registry/molecule/default/verify.yml).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import shutil
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "appliance" / "firstboot" / "harbor-twisted-appliance"
ADMIN_SECRET = "Unit-Admin-Secret-1"
SEARCH_SECRET = "Unit-Search-Secret-1"
# Records the mode and the variables of the file it is handed, as the real play reads them.
STAND_IN = """#!{python}
import json, os, sys
vars_file = sys.argv[sys.argv.index("-e") + 1].lstrip("@")
with open({seen!r}, "a", encoding="utf-8") as seen:
    seen.write(json.dumps({{"mode": oct(os.stat(vars_file).st_mode & 0o777),
                           "variables": json.load(open(vars_file, encoding="utf-8"))}}) + "\\n")
print("localhost                  : ok=12   changed=3    unreachable=0    failed=0")
"""


def _environment(properties: dict[str, str]) -> str:
    lines = "\n".join(f'    <Property oe:key="{key}" oe:value="{value}"/>'
                      for key, value in properties.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"\n'
            '     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1">\n'
            f"  <PropertySection>\n{lines}\n  </PropertySection>\n</Environment>\n")


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The program, its folders under tmp_path, ansible-playbook a recording stand-in; the
    VMware and CD-ROM transports must not be asked when a file is given."""
    loader = importlib.machinery.SourceFileLoader("harbor_twisted_appliance", str(PROGRAM))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    home = tmp_path / "home"
    (home / "ansible" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "appliance" / "properties.json", home)
    shutil.copy(ROOT / "appliance" / "firstboot.yml", home)
    playbook = home / "ansible" / "bin" / "ansible-playbook"
    playbook.write_text(STAND_IN.format(python=sys.executable, seen=str(tmp_path / "seen.jsonl")))
    playbook.chmod(0o755)
    monkeypatch.setattr(module, "HOME", home)
    monkeypatch.setattr(module, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(module, "STATE_FILE", tmp_path / "lib" / "last-run.json")
    monkeypatch.setattr(module, "APPLIED_FILE", tmp_path / "lib" / "applied-environment.scrypt")
    monkeypatch.setattr(module, "TLS_DIR", tmp_path / "tls")

    def not_asked() -> None:
        raise AssertionError("a transport was asked although a file was given")

    monkeypatch.setattr(module, "read_guestinfo", not_asked)
    monkeypatch.setattr(module, "read_cdrom", not_asked)
    return module


@pytest.fixture
def environment_file(tmp_path: Path) -> Path:
    path = tmp_path / "ovf-env.xml"
    path.write_text(_environment({
        "hostname": "harbor-unit", "admin_password": ADMIN_SECRET, "auth_mode": "ldap_auth",
        "ldap_url": "ldap://directory.example:389", "ldap_search_dn": "cn=search,dc=example",
        "ldap_search_password": SEARCH_SECRET, "ldap_base_dn": "ou=people,dc=example",
    }))
    path.chmod(0o600)
    return path


def _runs(tmp_path: Path) -> list[dict[str, object]]:
    seen = tmp_path / "seen.jsonl"
    return [json.loads(line) for line in seen.read_text().splitlines()] if seen.exists() else []


def test_the_file_is_applied_through_a_0600_variables_file_removed_after(
        program: ModuleType, environment_file: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert program.main(["--environment", str(environment_file)]) == 0

    [run] = _runs(tmp_path)
    assert run["mode"] == "0o600"
    variables = run["variables"]
    assert isinstance(variables, dict)
    assert variables["harbor_registry_auth_mode"] == "ldap_auth"
    assert variables["harbor_registry_ldap_url"] == "ldap://directory.example:389"
    assert variables["harbor_registry_ldap_search_password"] == SEARCH_SECRET
    assert variables["harbor_registry_admin_password"] == ADMIN_SECRET
    assert list((tmp_path / "run").glob("**/vars.json")) == []
    output = capsys.readouterr().out
    assert f"applying the OVF properties from {environment_file}" in output
    assert "ldap_search_password=<set>" in output and "admin_password=<set>" in output
    assert ADMIN_SECRET not in output and SEARCH_SECRET not in output
    state = json.loads((tmp_path / "lib" / "last-run.json").read_text())
    assert state["result"] == "succeeded"
    assert state["source"] == str(environment_file)
    assert "auth_mode" in state["applied"] and "ldap_search_password" in state["applied"]
    assert ADMIN_SECRET not in json.dumps(state)
    applied = tmp_path / "lib" / "applied-environment.scrypt"
    assert stat.S_IMODE(applied.stat().st_mode) == 0o600


def test_the_same_file_again_is_skipped_unless_forced(
        program: ModuleType, environment_file: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert program.main(["--environment", str(environment_file)]) == 0
    capsys.readouterr()

    assert program.main(["--environment", str(environment_file)]) == 0
    assert "unchanged since the last run, nothing to apply" in capsys.readouterr().out
    assert len(_runs(tmp_path)) == 1

    assert program.main(["--environment", str(environment_file), "--force"]) == 0
    assert "applying the OVF properties" in capsys.readouterr().out
    assert len(_runs(tmp_path)) == 2


def test_a_file_others_may_read_is_refused(
        program: ModuleType, environment_file: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    environment_file.chmod(0o644)

    assert program.main(["--environment", str(environment_file)]) == 1

    assert "chmod 600" in capsys.readouterr().out
    assert _runs(tmp_path) == []
    state = json.loads((tmp_path / "lib" / "last-run.json").read_text())
    assert state["result"] == "failed"


def test_a_missing_file_fails_without_running(
        program: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert program.main(["--environment", str(tmp_path / "absent.xml")]) == 1

    assert "cannot be applied" in capsys.readouterr().out
    assert _runs(tmp_path) == []


def test_one_run_at_a_time(
        program: ModuleType, environment_file: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    held = program.hold_run_lock()
    assert held is not None
    try:
        assert program.main(["--environment", str(environment_file)]) == 1
    finally:
        program.os.close(held)

    assert "another run is applying the properties now" in capsys.readouterr().out
    assert _runs(tmp_path) == []
    assert program.main(["--environment", str(environment_file)]) == 0
