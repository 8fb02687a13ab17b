import base64
import json
import os
import stat
import time

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from harbor_twisted.auth import jwt
from harbor_twisted.auth.keys import load_or_create
from harbor_twisted.auth.passwords import (
    PasswordPolicyError,
    check_policy,
    hash_password,
    verify_password,
)
from harbor_twisted.auth.scopes import parse_scope, parse_scopes

ISS, AUD = "harbor-token-issuer", "harbor-registry"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("secrets") / "s")


@pytest.fixture(scope="module")
def other_key(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("other"))


def _claims(**extra):
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now, "nbf": now, "exp": now + 300,
            "jti": "x", "access": [], **extra}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _forge(header: dict, claims: dict, sign) -> str:
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return signing_input + "." + _b64(sign(signing_input.encode()))


def test_key_files_are_private_and_reused(tmp_path):
    first = load_or_create(tmp_path / "secrets")
    directory = tmp_path / "secrets"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for name in ("token_signing_key.pem", "token_signing_cert.pem"):
        assert stat.S_IMODE(os.stat(directory / name).st_mode) == 0o600
    assert load_or_create(directory).kid == first.kid
    assert len(first.kid.split(":")) == 12


def test_round_trip(key):
    token = jwt.encode(_claims(), key)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "RS256" and header["kid"] == key.kid and header["x5c"]
    assert jwt.decode(token, key.public_key, ISS, AUD)["sub"] == "alice"


def test_token_signed_by_another_key_with_our_kid_and_its_own_x5c_is_refused(key, other_key):
    forged = jwt.encode(_claims(), other_key).split(".")
    header = {"typ": "JWT", "alg": "RS256", "kid": key.kid, "x5c": [other_key.certificate_der_b64]}
    token = _forge(header, _claims(), lambda data: other_key.private_key.sign(
        data, padding.PKCS1v15(), hashes.SHA256()))
    assert forged
    with pytest.raises(jwt.TokenInvalid, match="signature"):
        jwt.decode(token, key.public_key, ISS, AUD)


def test_alg_none_is_refused(key):
    token = _forge({"alg": "none"}, _claims(), lambda data: b"")
    with pytest.raises(jwt.TokenInvalid, match="RS256"):
        jwt.decode(token, key.public_key, ISS, AUD)


def test_hs256_keyed_with_our_public_key_is_refused(key):
    pem = key.public_key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(data: bytes) -> bytes:
        mac = hmac.HMAC(pem, hashes.SHA256())
        mac.update(data)
        return mac.finalize()

    token = _forge({"alg": "HS256", "typ": "JWT", "kid": key.kid}, _claims(), sign)
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode(token, key.public_key, ISS, AUD)


def test_edited_claims_are_refused(key):
    header, _, signature = jwt.encode(_claims(), key).split(".")
    edited = _b64(json.dumps(_claims(sub="admin")).encode())
    with pytest.raises(jwt.TokenInvalid, match="signature"):
        jwt.decode(f"{header}.{edited}.{signature}", key.public_key, ISS, AUD)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"nbf": int(time.time()) + 30 * 86400}, "not yet"),  # far: computed at collection
        ({"aud": "another-service"}, "another service"),
        ({"iss": "someone-else"}, "issuer"),
        ({"exp": "soon"}, "exp"),
        ({"access": "everything"}, "access"),
    ],
)
def test_claims_are_checked(key, claims, reason):
    with pytest.raises(jwt.TokenInvalid, match=reason):
        jwt.decode(jwt.encode(_claims(**claims), key), key.public_key, ISS, AUD)


def test_expiry_has_sixty_seconds_of_leeway(key):
    token = jwt.encode(_claims(exp=int(time.time()) - 30), key)
    assert jwt.decode(token, key.public_key, ISS, AUD)


@pytest.mark.parametrize("garbage", ["", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.",
                                     "W10.W10.AA", "x" * 70000])
def test_garbage_tokens_are_refused(key, garbage):
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode(garbage, key.public_key, ISS, AUD)


def test_scopes():
    scope = parse_scope("repository:library/ubuntu:pull,push")
    assert (scope.type, scope.name, scope.actions) == ("repository", "library/ubuntu",
                                                        ("pull", "push"))
    assert parse_scope("registry:catalog:*").actions == ("*",)
    assert parse_scope("repository(plugin):a/b:pull").name == "a/b"
    assert parse_scope("repository:a/b") is None
    assert parse_scope("repository:a/b:fly") is None
    both = parse_scopes(["repository:a/b:pull repository:c/d:push", "junk"])
    assert [str(s) for s in both] == ["repository:a/b:pull", "repository:c/d:push"]


def test_passwords_are_hashed_with_argon2id():
    stored = hash_password("Secret123")
    assert stored.startswith("$argon2id$")
    assert "Secret123" not in stored
    assert verify_password(stored, "Secret123")
    assert not verify_password(stored, "secret123")
    assert not verify_password("not a hash", "Secret123")


@pytest.mark.parametrize("password", ["Short1", "alllowercase1", "ALLUPPER1", "NoDigitsHere",
                                      "A1" + "a" * 127])
def test_password_policy(password):
    with pytest.raises(PasswordPolicyError):
        check_policy(password)
    check_policy("Harbor12345")
