"""Outgoing TLS trusts the site's CA file (`trusted_ca_file`) beside the system's CAs: a
webhook to an HTTPS receiver signed by that CA is delivered; one signed by another CA fails
with a sentence that says why, unless its target skips verification; a replication endpoint's
ping says the same. The file is read per job, so it needs no restart to take a new CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harbor_twisted.common.outbound_tls import outbound_session
from tests.rest.conftest import Client
from tests.support.oci import push_image
from tests.support.server import RegistryServer, start_server
from tests.support.tls_ca import ServerCertificate, make_server_certificate
from tests.support.webhook_receiver import Receiver, running_receiver
from tests.webhooks.conftest import project_with_policy, wait_for_execution

NOT_TRUSTED = "certificate is not trusted"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ServerCertificate]:
    base = tmp_path_factory.mktemp("outbound-tls")
    return {name: make_server_certificate(base / name) for name in ("site", "other")}


@pytest.fixture(scope="module")
def site_receiver(certificates) -> Iterator[Receiver]:
    yield from running_receiver(certificates["site"])


@pytest.fixture(scope="module")
def other_receiver(certificates) -> Iterator[Receiver]:
    yield from running_receiver(certificates["other"])


@pytest.fixture(scope="module")
def trusting_server(certificates, tmp_path_factory) -> Iterator[RegistryServer]:
    server = start_server(tmp_path_factory.mktemp("trusting"), extra_env={
        "HT_TRUSTED_CA_FILE": str(certificates["site"].ca_file), "HT_JOB_RETRY_LIMIT": "0"})
    yield server
    assert server.stop() == 0, server.log_text()[-4000:]


@pytest.fixture(scope="module")
def admin(trusting_server: RegistryServer) -> Client:
    return Client(trusting_server.url, ("admin", trusting_server.admin_password))


def _task_log(admin: Client, project: str, policy_id: int, execution_id: int) -> str:
    base = f"/projects/{project}/webhook/policies/{policy_id}/executions/{execution_id}/tasks"
    (task,) = admin.get(base).json()
    return admin.get(f"{base}/{task['id']}/log").text


def test_a_receiver_signed_by_the_site_ca_gets_the_event(
        trusting_server, admin: Client, site_receiver: Receiver):
    path = site_receiver.new_path()
    project, policy_id = project_with_policy(admin, site_receiver.url(path))
    push_image(trusting_server.url, f"{project}/app", tag="v1")
    (received,) = site_receiver.wait(path)
    assert received.json["type"] == "PUSH_ARTIFACT"
    assert wait_for_execution(admin, project, policy_id)["status"] == "Success"


def test_a_receiver_signed_by_another_ca_is_refused_with_a_reason(
        trusting_server, admin: Client, other_receiver: Receiver):
    path = other_receiver.new_path()
    project, policy_id = project_with_policy(admin, other_receiver.url(path))
    push_image(trusting_server.url, f"{project}/app", tag="v1")
    execution = wait_for_execution(admin, project, policy_id)
    assert execution["status"] == "Error", execution
    assert NOT_TRUSTED in _task_log(admin, project, policy_id, execution["id"])
    assert other_receiver.requests(path) == []


def test_skip_cert_verify_still_reaches_another_ca(
        trusting_server, admin: Client, other_receiver: Receiver):
    path = other_receiver.new_path()
    project, policy_id = project_with_policy(admin, other_receiver.url(path),
                                             target={"skip_cert_verify": True})
    push_image(trusting_server.url, f"{project}/app", tag="v1")
    other_receiver.wait(path)
    assert wait_for_execution(admin, project, policy_id)["status"] == "Success"


def test_an_endpoint_ping_names_an_untrusted_certificate(
        admin: Client, site_receiver: Receiver, other_receiver: Receiver):
    untrusted = admin.post("/registries/ping", json={"url": other_receiver.base, "type": "harbor"})
    assert untrusted.status_code == 400
    assert NOT_TRUSTED in untrusted.json()["errors"][0]["message"]
    # the site receiver is no registry (it answers GET with 501) but its TLS is trusted
    trusted = admin.post("/registries/ping", json={"url": site_receiver.base, "type": "harbor"})
    assert trusted.status_code == 400
    assert NOT_TRUSTED not in trusted.json()["errors"][0]["message"]


def test_the_site_ca_adds_to_the_system_cas(certificates, site_receiver: Receiver,
                                            other_receiver: Receiver, monkeypatch):
    # OpenSSL's default verify paths follow SSL_CERT_FILE: "other" stands in for a public CA
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates["other"].ca_file))
    site_ca: Path = certificates["site"].ca_file
    with outbound_session(trusted_ca_file=site_ca) as session:
        for receiver in (site_receiver, other_receiver):
            assert session.post(receiver.url("/probe"), timeout=10).status_code == 200
    with outbound_session() as session, pytest.raises(requests.exceptions.SSLError):
        session.post(site_receiver.url("/probe"), timeout=10)
