"""The collection README's "registry in one playbook", run as written (only its URL and
vault values supplied) against a server in ldap_auth: it applies, a rerun changes nothing,
and with one value edited `--check --diff` reports exactly that change and writes nothing."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.collection.ansible_runner import PlaybookRun, run_playbook
from tests.rest.conftest import Client
from tests.support.ldap_directory import ldap_settings, write_search_password
from tests.support.server import RegistryServer, start_server
from tests.support.slapd import Slapd

README = (Path(__file__).resolve().parents[2] / "collections" / "ansible_collections"
          / "harbor_twisted" / "registry" / "README.md")
RECAP = re.compile(r"^localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0",
                   re.MULTILINE)
RETENTION_TASK = "Keep the ten newest artifacts of each repository of team-a"


@pytest.fixture(scope="module")
def ldap_server(slapd: Slapd, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RegistryServer]:
    base = tmp_path_factory.mktemp("readme-playbook")
    password_file = write_search_password(base / "secrets" / "ldap_search_password")
    server = start_server(base / "data", extra_env={
        **ldap_settings(slapd), "HT_LDAP_SEARCH_PASSWORD_FILE": str(password_file)})
    yield server
    server.stop()


def _readme_playbook() -> list[dict[str, Any]]:
    block = README.read_text().split("## A registry in one playbook", 1)[1]
    text = block.split("```yaml", 1)[1].split("```", 1)[0]
    playbook = yaml.safe_load(text)
    (play,) = playbook
    defaults = play["module_defaults"]["group/harbor_twisted.registry.all"]
    assert defaults["url"] == "https://registry.example.com"
    defaults["url"] = "{{ harbor_url }}"  # the test server instead of the example's
    return playbook


def _run(playbook: list[dict[str, Any]], workdir: Path, server: RegistryServer,
         check: bool = False) -> tuple[PlaybookRun, int]:
    variables = {"harbor_url": server.url,
                 "vault_harbor_admin_password": server.admin_password,
                 "vault_central_password": "Central-" + secrets.token_hex(6),
                 "vault_builder_secret": "Builder-" + secrets.token_hex(6) + "A1",
                 "vault_ci_hook_token": secrets.token_hex(16)}
    run = run_playbook(playbook, workdir, variables, check=check, diff=check)
    assert run.returncode == 0, run.tail()
    (changed,) = RECAP.findall(run.output)
    return run, int(changed)


def _retention_count(server: RegistryServer) -> int:
    admin = Client(server.url, ("admin", server.admin_password))
    project = admin.get("/projects/team-a").json()
    policy = admin.get(f"/retentions/{project['metadata']['retention_id']}").json()
    (rule,) = policy["rules"]
    return int(rule["params"]["latestPushedK"])


def test_the_readme_playbook_applies_reruns_unchanged_and_plans_one_edit(
        ldap_server: RegistryServer, tmp_path: Path):
    playbook = _readme_playbook()
    _, changed = _run(playbook, tmp_path / "apply", ldap_server)
    assert changed >= 9  # every task made something
    _, changed = _run(playbook, tmp_path / "rerun", ldap_server)
    assert changed == 0
    (task,) = [t for t in playbook[0]["tasks"] if t["name"] == RETENTION_TASK]
    task["harbor_twisted.registry.retention_policy"]["rules"][0]["count"] = 5
    plan, changed = _run(playbook, tmp_path / "plan", ldap_server, check=True)
    assert changed == 1, plan.tail()
    diff = plan.output.split(f"TASK [{RETENTION_TASK}]", 1)[1].split("TASK [", 1)[0]
    assert re.search(r'^-\s+"count": 10', diff, re.MULTILINE), diff
    assert re.search(r'^\+\s+"count": 5', diff, re.MULTILINE), diff
    assert _retention_count(ldap_server) == 10  # check mode wrote nothing
