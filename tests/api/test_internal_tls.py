"""Internal TLS: processes listen with TLS (`internal_tls_certificate_file`, `..._key_file`)
and reach each other verified against the site CA (`trusted_ca_file`) — worker processes on
one adopted socket, a replication job reading its own registry and writing to another, and a
core checking a separate registry's health. A key others may read, or a certificate that
does not match its key, stops the start with a message naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.replication.conftest import FAST_JOBS, add_policy, run_policy, wait_execution
from tests.rest.conftest import Client
from tests.support.oci import push_image
from tests.support.server import start_server
from tests.support.tls_ca import ServerCertificate, make_server_certificate


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServerCertificate:
    certificate = make_server_certificate(tmp_path / "site-tls")
    certificate.key_file.chmod(0o600)
    # this test's own requests trust the site CA, as the processes do through trusted_ca_file
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate.ca_file))
    return certificate


def _tls_env(site: ServerCertificate, **extra: str) -> dict[str, str]:
    return {"HT_INTERNAL_TLS_CERTIFICATE_FILE": str(site.cert_file),
            "HT_INTERNAL_TLS_KEY_FILE": str(site.key_file),
            "HT_TRUSTED_CA_FILE": str(site.ca_file), **FAST_JOBS, **extra}


def test_workers_and_replication_over_internal_tls(start_registry, site: ServerCertificate):
    source = start_registry(_tls_env(site, HT_WORKERS="2"), tls_ca=site.ca_file)
    target = start_registry(_tls_env(site), tls_ca=site.ca_file)
    assert source.url.startswith("https://")
    plain = source.url.replace("https://", "http://")
    with pytest.raises(requests.ConnectionError):
        requests.get(plain + "/v2/", timeout=5)
    workers: set[str] = set()
    for _ in range(300):  # fresh connections: whichever worker accepts first answers
        workers.add(requests.get(source.url + "/v2/", timeout=5).headers["X-Harbor-Worker"])
        if len(workers) == 2:
            break
    assert workers == {"0", "1"}

    image = push_image(source.url, "library/tls/app", tag="v1")
    client = Client(source.url, ("admin", source.admin_password))
    created = client.post("/registries", json={
        "name": "target", "type": "harbor", "url": target.url,  # verified: no insecure
        "credential": {"type": "basic", "access_key": "admin",
                       "access_secret": target.admin_password}})
    assert created.status_code == 201, created.text
    endpoint = int(created.headers["Location"].rsplit("/", 1)[1])
    policy = add_policy(client, dest_registry={"id": endpoint},
                        filters=[{"type": "name", "value": "library/tls/**"}])
    execution = wait_execution(client, run_policy(client, policy))
    assert execution["status"] == "Success", execution
    pulled = requests.head(f"{target.url}/v2/{image.repo}/manifests/v1", timeout=10,
                           auth=("admin", target.admin_password),
                           headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert pulled.headers.get("Docker-Content-Digest") == image.digest


def test_a_core_checks_its_registry_over_internal_tls(start_registry, site: ServerCertificate):
    core = start_registry(_tls_env(site), command="core", tls_ca=site.ca_file)
    registry = start_registry(_tls_env(site, HT_TOKEN_REALM=f"{core.url}/service/token"),
                              command="registry", tls_ca=site.ca_file)
    # the core's health asks the registry at registry_url (its settings are read at start)
    checking = start_registry(_tls_env(site, HT_REGISTRY_URL=registry.url),
                              data_dir=core.data_dir.parent / "checking", command="core",
                              tls_ca=site.ca_file)
    health = requests.get(f"{checking.url}/api/v2.0/health", timeout=30).json()
    states = {c["name"]: c["status"] for c in health["components"]}
    assert states["registry"] == "healthy", health
    untrusting = start_registry({**_tls_env(site, HT_REGISTRY_URL=registry.url),
                                 "HT_TRUSTED_CA_FILE": ""},
                                data_dir=core.data_dir.parent / "untrusting", command="core",
                                tls_ca=site.ca_file)
    health = requests.get(f"{untrusting.url}/api/v2.0/health", timeout=30).json()
    assert {c["name"]: c["status"] for c in health["components"]}["registry"] == "unhealthy"


def test_a_key_readable_by_others_is_refused(tmp_path: Path, site: ServerCertificate):
    site.key_file.chmod(0o644)
    with pytest.raises(RuntimeError, match="readable by others"):
        start_server(tmp_path / "data", extra_env=_tls_env(site), tls_ca=site.ca_file)


def test_a_certificate_that_is_not_the_keys_is_refused(tmp_path: Path, site: ServerCertificate):
    other = make_server_certificate(tmp_path / "other-tls")
    env = {**_tls_env(site), "HT_INTERNAL_TLS_CERTIFICATE_FILE": str(other.cert_file)}
    with pytest.raises(RuntimeError, match="do not make a certificate and its key"):
        start_server(tmp_path / "data", extra_env=env, tls_ca=site.ca_file)
    assert os.stat(site.key_file).st_mode & 0o777 == 0o600


def test_an_unusable_trusted_ca_file_is_refused_at_start(tmp_path: Path):
    broken = tmp_path / "trusted.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(RuntimeError, match="holds no usable PEM certificate"):
        start_server(tmp_path / "data", extra_env={"HT_TRUSTED_CA_FILE": str(broken)})
