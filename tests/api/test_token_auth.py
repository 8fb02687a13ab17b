"""The token service and the registry's token checks, including attacks that must fail."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from harbor_twisted.auth import jwt
from harbor_twisted.auth.keys import load_or_create
from tests.support.oci import error_code, push_image, unique_repo

SERVICE = "harbor-registry"


def _token(registry, scopes=(), auth=None, **params):
    response = requests.get(
        f"{registry.url}/service/token",
        params={"service": SERVICE, "scope": list(scopes), **params},
        auth=auth,
        timeout=30,
    )
    return response


def _claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def _admin(registry):
    return ("admin", registry.admin_password)


@pytest.fixture(scope="module")
def image(registry):
    return push_image(registry.url, unique_repo("tokens"))


def test_admin_gets_what_it_asks_for(registry, image):
    scope = f"repository:{image.repo}:pull,push,delete"
    response = _token(registry, [scope, "registry:catalog:*"], auth=_admin(registry))
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 1800
    claims = _claims(body["token"])
    assert claims["sub"] == "admin" and claims["aud"] == SERVICE
    assert {(a["name"], tuple(a["actions"])) for a in claims["access"]} == {
        (image.repo, ("pull", "push", "delete")),
        ("catalog", ("*",)),
    }


def test_wrong_password_is_401(registry):
    response = _token(registry, auth=("admin", "wrong-password"))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert _token(registry, auth=("nobody", "Whatever123")).status_code == 401


def test_anonymous_may_pull_public_library_but_not_push(registry, image):
    response = _token(registry, [f"repository:{image.repo}:pull,push"])
    assert response.status_code == 200
    access = _claims(response.json()["token"])["access"]
    assert access == [{"type": "repository", "name": image.repo, "actions": ["pull"]}]
    token = response.json()["token"]
    pulled = requests.get(f"{registry.url}/v2/{image.repo}/manifests/latest",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert pulled.status_code == 200
    assert pulled.content == image.manifest
    pushed = requests.post(f"{registry.url}/v2/{image.repo}/blobs/uploads/",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert pushed.status_code == 401
    assert 'error="insufficient_scope"' in pushed.headers["WWW-Authenticate"]
    assert f'scope="repository:{image.repo}:pull,push"' in pushed.headers["WWW-Authenticate"]


def test_nobody_gets_the_catalog_or_nonexistent_projects_but_admins(registry):
    anonymous = _claims(_token(registry, ["registry:catalog:*",
                                          "repository:ghost/repo:pull"]).json()["token"])
    assert anonymous["access"] == []
    admin = _claims(_token(registry, ["repository:ghost/repo:pull,push"],
                           auth=_admin(registry)).json()["token"])
    assert admin["access"] == []  # pushing into a project that does not exist is refused


def test_scope_escalation_in_the_request_is_ignored(registry, image):
    sneaky = [f"repository:{image.repo}:pull,push,delete,*", f"repository:{image.repo}/../x:push",
              "repository:library:push", f"registry:catalog:push repository:{image.repo}:*"]
    claims = _claims(_token(registry, sneaky).json()["token"])
    for entry in claims["access"]:
        assert entry["actions"] == ["pull"]
        assert entry["name"] == image.repo


def test_unknown_service_is_refused(registry):
    assert _token(registry, service="other-service").status_code == 400


def test_oauth2_post_form_and_refresh_token(registry, image):
    scope = f"repository:{image.repo}:pull"
    first = requests.post(f"{registry.url}/service/token", data={
        "grant_type": "password", "username": "admin", "password": registry.admin_password,
        "service": SERVICE, "scope": scope, "access_type": "offline", "client_id": "test"},
        timeout=30)
    assert first.status_code == 200, first.text
    refresh = first.json()["refresh_token"]
    second = requests.post(f"{registry.url}/service/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE,
        "scope": scope, "client_id": "test"}, timeout=30)
    assert second.status_code == 200
    assert _claims(second.json()["token"])["access"][0]["actions"] == ["pull"]
    # a refresh token is not an access token, and an access token is not a refresh token
    as_bearer = requests.get(f"{registry.url}/v2/{image.repo}/tags/list",
                             headers={"Authorization": f"Bearer {refresh}"}, timeout=10)
    assert as_bearer.status_code == 401
    swapped = requests.post(f"{registry.url}/service/token", data={
        "grant_type": "refresh_token", "refresh_token": first.json()["token"],
        "service": SERVICE}, timeout=30)
    assert swapped.status_code == 401


def test_get_with_offline_token_returns_a_refresh_token(registry):
    response = _token(registry, auth=_admin(registry), offline_token="true", client_id="x")
    assert "refresh_token" in response.json()
    assert "refresh_token" not in _token(registry, offline_token="true").json()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _bearer_answer(registry, path, token):
    response = requests.get(registry.url + path, headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
    return response


@pytest.fixture(scope="module")
def forged_material(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("attacker"))


def _claims_for(repo, **extra):
    now = int(time.time())
    return {"iss": "harbor-token-issuer", "aud": SERVICE, "sub": "admin", "iat": now,
            "nbf": now, "exp": now + 600, "jti": "forged",
            "access": [{"type": "repository", "name": repo, "actions": ["pull", "push"]}],
            **extra}


def _signed(header, claims, sign):
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return signing_input + "." + _b64(sign(signing_input.encode()))


def test_forged_tokens_are_refused_by_the_registry(registry, image, forged_material):
    genuine = _token(registry, [f"repository:{image.repo}:pull"], auth=_admin(registry))
    kid = json.loads(base64.urlsafe_b64decode(genuine.json()["token"].split(".")[0] + "=="))[
        "kid"]
    path = f"/v2/{image.repo}/tags/list"
    rsa_sign = lambda data: forged_material.private_key.sign(  # noqa: E731
        data, padding.PKCS1v15(), hashes.SHA256())
    attacks = {
        "another key with our kid": _signed({"alg": "RS256", "typ": "JWT", "kid": kid},
                                            _claims_for(image.repo), rsa_sign),
        "self-made certificate in x5c": _signed(
            {"alg": "RS256", "typ": "JWT", "kid": kid,
             "x5c": [forged_material.certificate_der_b64]}, _claims_for(image.repo), rsa_sign),
        "jwk header": _signed({"alg": "RS256", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
                              _claims_for(image.repo), rsa_sign),
        "alg none": _signed({"alg": "none", "typ": "JWT"}, _claims_for(image.repo),
                            lambda data: b""),
        "expired": None,
        "another service": None,
        "edited claims": None,
    }
    token = genuine.json()["token"]
    header, _, signature = token.split(".")
    attacks["edited claims"] = (
        f"{header}.{_b64(json.dumps(_claims_for(image.repo)).encode())}.{signature}")
    for name, forged in attacks.items():
        if forged is None:
            continue
        response = _bearer_answer(registry, path, forged)
        assert response.status_code == 401, name
        assert error_code(response.content) == "UNAUTHORIZED", name
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], name
    assert _bearer_answer(registry, path, token).status_code == 200


def test_hs256_token_keyed_with_the_registry_public_key_is_refused(registry, image):
    public_pem = registry.signing_key().public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(data: bytes) -> bytes:
        mac = hmac.HMAC(public_pem, hashes.SHA256())
        mac.update(data)
        return mac.finalize()

    forged = _signed({"alg": "HS256", "typ": "JWT"}, _claims_for(image.repo), sign)
    assert _bearer_answer(registry, f"/v2/{image.repo}/tags/list", forged).status_code == 401


def test_token_for_another_repository_does_not_open_this_one(registry, image):
    other = unique_repo("other")
    token = _token(registry, [f"repository:{other}:pull,push"], auth=_admin(registry))
    response = _bearer_answer(registry, f"/v2/{image.repo}/tags/list", token.json()["token"])
    assert response.status_code == 401
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_expired_and_wrong_audience_tokens_are_refused(registry, image):
    key = registry.signing_key()
    now = int(time.time())
    for claims in (_claims_for(image.repo, exp=now - 600, nbf=now - 900),
                   _claims_for(image.repo, aud="some-other-registry")):
        token = jwt.encode(claims, key)
        assert _bearer_answer(registry, f"/v2/{image.repo}/tags/list", token).status_code == 401


@pytest.mark.parametrize("header_value", ["Bearer", "Bearer ", "Basic YWRtaW46eA==",
                                          "Bearer a.b.c", "Bearer " + "x" * 10000, "Token abc",
                                          "Bearer e30.e30.e30"])
def test_garbage_authorization_headers_are_challenged(registry, image, header_value):
    response = requests.get(f"{registry.url}/v2/{image.repo}/tags/list",
                            headers={"Authorization": header_value}, timeout=10)
    assert response.status_code == 401
    assert error_code(response.content) == "UNAUTHORIZED"


def test_oversized_header_is_refused_and_the_server_carries_on(registry, image):
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{registry.url}/v2/{image.repo}/tags/list",
                     headers={"Authorization": "Bearer " + "x" * 70000}, timeout=10)
    assert requests.get(f"{registry.url}/v2/", timeout=10).status_code == 401
