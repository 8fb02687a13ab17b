"""An LDAP user's Basic credentials on /v2/: checked with the directory, access from the
user's (nested) groups, as a token for the same user would carry."""

from __future__ import annotations

import requests

from tests.ldap.conftest import as_person
from tests.rest.conftest import create_project
from tests.support import ldap_directory as example
from tests.support.oci import sha256

DEVELOPER = 2


def test_ldap_user_pushes_and_pulls_with_basic_credentials(ldap_registry, admin):
    carol = as_person(ldap_registry, example.CAROL)
    assert carol.get("/users/current").status_code == 200  # onboards carol and her groups
    project = create_project(admin)
    response = admin.post(f"/projects/{project}/members", json={
        "role_id": DEVELOPER, "member_group": {"ldap_group_dn": example.OUTER}})
    assert response.status_code == 201, response.text
    blob = b"pushed by an LDAP user with Basic credentials"
    base = f"{ldap_registry.url}/v2/{project}/app/blobs"
    pushed = requests.post(f"{base}/uploads/", params={"digest": sha256(blob)}, data=blob,
                           auth=carol.auth, timeout=30)
    assert pushed.status_code == 201, pushed.text
    pulled = requests.get(f"{base}/{sha256(blob)}", auth=carol.auth, timeout=30)
    assert pulled.status_code == 200 and pulled.content == blob
    wrong = requests.get(f"{base}/{sha256(blob)}", auth=("carol", "wrong"), timeout=30)
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer realm=")
    erin = requests.get(f"{base}/{sha256(blob)}", auth=("erin", example.ERIN.password),
                        timeout=30)
    assert erin.status_code == 401  # a valid login without access: the scope challenge
