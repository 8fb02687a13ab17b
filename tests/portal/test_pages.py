"""The portal over HTTP, as a browser's requests: sign-in, CSRF, clear error pages and the
security headers, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

import pytest

from tests.portal.browser_session import PageClient
from tests.rest.conftest import Client, add_member, create_project, create_user, unique

GUEST = 3


def test_root_leads_to_sign_in_then_back(registry) -> None:
    pages = PageClient(registry.url)
    assert pages.get("/").headers["Location"] == "/harbor/projects"
    refused = pages.get("/harbor/projects?name=x")
    assert refused.status_code == 303
    assert refused.headers["Location"] == "/harbor/sign-in?next=%2Fharbor%2Fprojects%3Fname%3Dx"
    signed_in = pages.sign_in("admin", registry.admin_password, "/harbor/projects?name=x")
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/harbor/projects?name=x"
    assert pages.get("/harbor/projects?name=x").status_code == 200


def test_failed_form_login_shows_the_error_on_the_sign_in_page(registry) -> None:
    pages = PageClient(registry.url)
    failed = pages.sign_in("admin", "wrong-password", "/harbor/search")
    assert failed.status_code == 303
    page = pages.get(failed.headers["Location"])
    assert page.status_code == 401
    assert "Invalid user name or password" in page.text
    assert 'name="next" value="/harbor/search"' in page.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_leads_off_site(registry, target: str) -> None:
    pages = PageClient(registry.url)
    answer = pages.sign_in("admin", registry.admin_password, target)
    assert answer.headers["Location"] == "/harbor/projects"


def test_api_clients_keep_json_answers(registry) -> None:
    import requests

    ok = requests.post(f"{registry.url}/c/login", timeout=30,
                       data={"principal": "admin", "password": registry.admin_password})
    assert ok.status_code == 200 and "sid" in ok.cookies
    refused = requests.post(f"{registry.url}/c/login", timeout=30,
                            data={"principal": "admin", "password": "nope"})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_pages_send_strict_security_headers(admin_pages: PageClient) -> None:
    page = admin_pages.get("/harbor/projects")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page.text and "style=" not in page.text


def test_forged_csrf_token_gets_a_403_page(admin_pages: PageClient) -> None:
    name = unique("forged")
    answer = admin_pages.post("/harbor/projects", {"_csrf": "forged", "project_name": name})
    assert answer.status_code == 403
    assert "CSRF token does not match" in answer.text
    missing = admin_pages.post("/harbor/projects", {"project_name": name})
    assert missing.status_code == 403
    assert admin_pages.get(f"/harbor/projects/{name}").status_code == 404


def test_header_token_is_accepted_for_scripts(admin_pages: PageClient) -> None:
    token = admin_pages.csrf()
    name = unique("scripted")
    answer = admin_pages.post("/harbor/projects", {"project_name": name},
                              headers={"X-Harbor-CSRF-Token": token})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/harbor/projects/{name}"


def test_create_project_then_see_it_listed_and_searched(admin_pages: PageClient) -> None:
    name = unique("portal")
    created = admin_pages.submit("/harbor/projects", {"project_name": name, "public": "true"})
    assert created.headers["Location"] == f"/harbor/projects/{name}"
    page = admin_pages.get(created.headers["Location"])
    assert f"Project {name} created." in page.text and "Public" in page.text
    assert name in admin_pages.get(f"/harbor/projects?name={name}").text
    assert f'href="/harbor/projects/{name}"' in admin_pages.get(f"/harbor/search?q={name}").text


def test_invalid_project_name_is_explained(admin_pages: PageClient) -> None:
    answer = admin_pages.submit("/harbor/projects", {"project_name": "Not Valid"})
    assert answer.status_code == 303
    page = admin_pages.get(answer.headers["Location"])
    assert "project_name must be" in page.text


def test_unknown_project_and_page_beyond_the_end_are_clear_pages(
        admin_pages: PageClient) -> None:
    missing = admin_pages.get("/harbor/projects/no-such-project-here")
    assert missing.status_code == 404
    assert "project no-such-project-here not found" in missing.text
    beyond = admin_pages.get("/harbor/projects?page=100000")
    assert beyond.status_code == 200
    assert "beyond the end" in beyond.text and "Go to the last page" in beyond.text
    nowhere = admin_pages.get("/harbor/no/such/page")
    assert nowhere.status_code == 404 and "There is no page" in nowhere.text
    bad = admin_pages.get("/harbor/projects/%ff")
    assert bad.status_code == 400


def test_guest_sees_no_delete_and_a_forged_delete_gets_403(registry) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    guest = create_user(admin)
    add_member(admin, project, guest, GUEST)
    pages = PageClient(registry.url)
    pages.sign_in(guest.username, guest.password)
    members = pages.get(f"/harbor/projects/{project}/members")
    assert members.status_code == 200 and "Add a member" not in members.text
    token = pages.csrf()
    digest = "sha256:" + "0" * 64
    for path in (f"/harbor/projects/{project}/repositories/app/-/artifacts/{digest}/delete",
                 f"/harbor/projects/{project}/repositories/app/-/artifacts/{digest}"
                 "/tags/latest/delete"):
        answer = pages.post(path, {"_csrf": token})
        assert answer.status_code == 403, answer.text
        assert "Not allowed" in answer.text
        assert pages.get(path).status_code == 403  # the confirmation page refuses too


def test_deleted_users_session_goes_back_to_sign_in(registry) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    user = create_user(admin)
    pages = PageClient(registry.url)
    pages.sign_in(user.username, user.password)
    assert pages.get("/harbor/projects").status_code == 200
    assert admin.delete(f"/users/{user.id}").status_code == 200
    answer = pages.get("/harbor/projects")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/harbor/sign-in?next=")
    assert "expired=1" in answer.headers["Location"]


def test_expired_session_leads_to_sign_in_saying_so(start_registry) -> None:
    server = start_registry({"HT_SESSION_IDLE_SECONDS": "1"})
    pages = PageClient(server.url)
    pages.sign_in("admin", server.admin_password)
    assert pages.get("/harbor/projects").status_code == 200
    time.sleep(1.5)
    answer = pages.get("/harbor/projects")
    assert answer.status_code == 303
    page = pages.get(answer.headers["Location"])
    assert "Your session has ended" in page.text


def test_sign_out_ends_the_session(admin_pages: PageClient) -> None:
    out = admin_pages.submit("/harbor/log-out", {})
    assert out.status_code == 303 and out.headers["Location"] == "/harbor/sign-in"
    assert admin_pages.get("/harbor/projects").status_code == 303


def test_database_user_changes_their_password(registry) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    user = create_user(admin)
    pages = PageClient(registry.url)
    pages.sign_in(user.username, user.password)
    account = pages.get("/harbor/account")
    assert account.status_code == 200 and user.username in account.text
    wrong = pages.submit("/harbor/account/password", {
        "old_password": "Not-The-Old-1", "new_password": "Brand-New-Pass1",
        "confirm_password": "Brand-New-Pass1"}, form_page="/harbor/account")
    assert "Current password is incorrect" in pages.get(wrong.headers["Location"]).text
    changed = pages.submit("/harbor/account/password", {
        "old_password": user.password, "new_password": "Brand-New-Pass1",
        "confirm_password": "Brand-New-Pass1"}, form_page="/harbor/account")
    assert "Password changed." in pages.get(changed.headers["Location"]).text
    assert PageClient(registry.url).sign_in(user.username, "Brand-New-Pass1").headers[
        "Location"] == "/harbor/projects"


def test_administration_pages_are_for_system_admins_only(registry,
                                                         admin_pages: PageClient) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    user = create_user(admin)
    pages = PageClient(registry.url)
    pages.sign_in(user.username, user.password)
    for path in ("/harbor/admin/users", "/harbor/admin/audit-log", "/harbor/admin/gc"):
        assert pages.get(path).status_code == 403, path
        assert admin_pages.get(path).status_code == 200, path
    assert 'href="/harbor/admin/users"' not in pages.get("/harbor/projects").text
    forged = pages.submit("/harbor/admin/gc", {"dry_run": "true"})
    assert forged.status_code == 403


def test_admin_creates_a_user_and_finds_it_in_the_audit_log(admin_pages: PageClient) -> None:
    name = unique("made")
    created = admin_pages.submit("/harbor/admin/users", {
        "username": name, "email": f"{name}@example.org", "password": "Made-User-Pass1",
        "realname": "Made Here"}, form_page="/harbor/admin/users")
    assert f"User {name} created." in admin_pages.get(created.headers["Location"]).text
    assert name in admin_pages.get(f"/harbor/admin/users?name={name}").text
    log = admin_pages.get(f"/harbor/admin/audit-log?resource={name}")
    assert log.status_code == 200 and "create" in log.text and name in log.text
    # user, operation and resource type match whole values (operation in any case)
    later = name + "-later"
    admin_pages.submit("/harbor/admin/users", {
        "username": later, "email": f"{later}@example.org", "password": "Made-User-Pass1",
        "realname": "Made Later"}, form_page="/harbor/admin/users")
    mine = (f"/harbor/admin/audit-log?resource={name}"
            "&username=admin&operation=CREATE&resource_type=user")
    newest = admin_pages.get(mine).text
    assert newest.index(f"<code>{later}</code>") < newest.index(f"<code>{name}</code>")
    oldest = admin_pages.get(mine + "&order=oldest").text
    assert oldest.index(f"<code>{name}</code>") < oldest.index(f"<code>{later}</code>")
    assert '<option value="oldest" selected>' in oldest
    for partial in ("username=adm", "operation=crea", "resource_type=use"):
        key = partial.split("=")[0]
        changed = re.sub(rf"{key}=[^&]*", partial, mine)
        assert f"<code>{name}</code>" not in admin_pages.get(changed).text, changed


def test_admin_runs_a_gc_dry_run_and_reads_its_log(admin_pages: PageClient) -> None:
    started = admin_pages.submit("/harbor/admin/gc", {"dry_run": "true"},
                                 form_page="/harbor/admin/gc")
    page = admin_pages.get(started.headers["Location"])
    assert "Dry run started." in page.text
    run_id = re.search(r'href="/harbor/admin/gc/(\d+)"', page.text).group(1)
    deadline = time.monotonic() + 60
    while True:
        log = admin_pages.get(f"/harbor/admin/gc/{run_id}")
        assert log.status_code == 200
        if "Success" in log.text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert 'id="gc-status">Success' in log.text, log.text


def test_project_admin_creates_a_robot_and_sees_its_secret_once(
        registry, admin_pages: PageClient) -> None:
    import base64
    import json

    import requests

    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    tab = f"/harbor/projects/{project}/robots"
    created = admin_pages.submit(tab, {"name": "ci", "description": "builds",
                                       "duration": "-1", "perm_repository_pull": "on"},
                                 form_page=tab)
    assert created.status_code == 200, created.text
    name = re.search(r'id="robot-name-created">([^<]+)<', created.text).group(1)
    secret = re.search(r'id="robot-secret">([^<]+)<', created.text).group(1)
    assert name == f"robot${project}+ci"
    listed = admin_pages.get(tab)
    assert name in listed.text and secret not in listed.text
    token = requests.get(f"{registry.url}/service/token", auth=(name, secret), timeout=30,
                         params={"service": "harbor-registry",
                                 "scope": f"repository:{project}/app:pull,push"})
    assert token.status_code == 200, token.text
    payload = token.json()["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["access"][0]["actions"] == ["pull"]


def test_the_core_process_serves_the_portal(start_registry, tmp_path) -> None:
    core = start_registry({"HT_REGISTRY_URL": "http://127.0.0.1:9"}, command="core")
    pages = PageClient(core.url)
    assert pages.get("/").headers["Location"] == "/harbor/projects"
    assert pages.sign_in("admin", core.admin_password).status_code == 303
    assert "library" in pages.get("/harbor/projects").text


def test_repository_pages_filter_by_tag_show_an_index_and_delete(
        registry, admin_pages: PageClient) -> None:
    from tests.rest.artifact_helpers import push_index
    from tests.support.oci import push_image

    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    first = push_image(registry.url, f"{project}/app", tag="release-1", seed="one")
    second = push_image(registry.url, f"{project}/app", tag="nightly", seed="two")
    index = push_index(registry.url, f"{project}/multi")
    repo_page = f"/harbor/projects/{project}/repositories/app"
    both = admin_pages.get(repo_page)
    assert first.digest[:19] in both.text and second.digest[:19] in both.text
    filtered = admin_pages.get(repo_page + "?tag=release")
    assert first.digest[:19] in filtered.text and second.digest[:19] not in filtered.text
    # the heading counts the repository's artifacts, filtered or not
    assert '<p class="meta">2 artifacts · ' in both.text
    assert '<p class="meta">2 artifacts · ' in filtered.text
    assert "No artifact has a tag" in admin_pages.get(repo_page + "?tag=zzz").text

    detail = admin_pages.get(f"/harbor/projects/{project}/repositories/multi/-/artifacts/"
                             f"{index.digest}")
    assert detail.status_code == 200
    assert "linux/amd64" in detail.text and "linux/arm64" in detail.text

    described = admin_pages.submit(repo_page + "/-/description", {"description": "the app"},
                                   form_page=repo_page)
    assert "the app" in admin_pages.get(described.headers["Location"]).text
    assert admin_pages.get(repo_page + "/-/delete").status_code == 200  # the confirmation
    deleted = admin_pages.submit(repo_page + "/-/delete", {}, form_page=repo_page)
    assert deleted.headers["Location"] == f"/harbor/projects/{project}"
    assert f"Repository {project}/app deleted." in admin_pages.get(
        deleted.headers["Location"]).text
    assert admin_pages.get(repo_page).status_code == 404
    logs = admin_pages.get(f"/harbor/projects/{project}/logs?operation=delete")
    assert f"{project}/app" in logs.text


def test_project_creation_restriction_hides_the_form_and_refuses_the_post(
        registry, admin_pages: PageClient) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    user = create_user(admin)
    pages = PageClient(registry.url)
    pages.sign_in(user.username, user.password)
    assert 'id="new-project"' in pages.get("/harbor/projects").text
    settings = "/harbor/admin/settings"
    saved = admin_pages.submit(settings, {"project_creation_restriction": "adminonly"},
                               form_page=settings)
    try:
        assert "Settings saved." in admin_pages.get(saved.headers["Location"]).text
        assert 'id="new-project"' not in pages.get("/harbor/projects").text
        refused = pages.submit("/harbor/projects", {"project_name": unique("nope")})
        assert refused.status_code == 403
        assert 'id="new-project"' in admin_pages.get("/harbor/projects").text
    finally:
        admin_pages.submit(settings, {"project_creation_restriction": "everyone"},
                           form_page=settings)
    assert 'id="new-project"' in pages.get("/harbor/projects").text
    assert pages.get(settings).status_code == 403


def test_project_page_shows_storage_used(registry, admin_pages: PageClient) -> None:
    from tests.support.oci import push_image

    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    push_image(registry.url, f"{project}/sized", tag="v1", seed="sized")
    page = admin_pages.get(f"/harbor/projects/{project}")
    assert "storage used" in page.text and "0 B" not in page.text.split("storage used")[1][:12]


def test_admin_resets_a_password_and_manages_groups(registry,
                                                    admin_pages: PageClient) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    user = create_user(admin)
    users = "/harbor/admin/users"
    reset = admin_pages.submit(f"{users}/{user.id}/password", {"password": "Reset-By-Admin1"},
                               form_page=users)
    assert "Password reset." in admin_pages.get(reset.headers["Location"]).text
    assert PageClient(registry.url).sign_in(user.username, "Reset-By-Admin1").headers[
        "Location"] == "/harbor/projects"

    groups = "/harbor/admin/groups"
    cn = unique("team")
    dn = f"cn={cn},ou=groups,dc=example,dc=org"
    added = admin_pages.submit(groups, {"ldap_group_dn": dn}, form_page=groups)
    assert f"Group {dn} added." in admin_pages.get(added.headers["Location"]).text
    listed = admin_pages.get(f"{groups}?name={cn}")
    group_id = re.search(r'href="/harbor/admin/groups/(\d+)/delete"', listed.text).group(1)
    assert admin_pages.get(f"{groups}/{group_id}/delete").status_code == 200
    gone = admin_pages.submit(f"{groups}/{group_id}/delete", {}, form_page=groups)
    assert "Group deleted." in admin_pages.get(gone.headers["Location"]).text
    assert "No groups match" in admin_pages.get(f"{groups}?name={cn}").text


def test_immutability_rule_from_the_page_protects_a_tag(registry,
                                                        admin_pages: PageClient) -> None:
    from tests.support.oci import push_image

    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    pushed = push_image(registry.url, f"{project}/kept", tag="rel-1", seed="kept")
    tab = f"/harbor/projects/{project}/immutability"
    added = admin_pages.submit(tab, {"repository_decoration": "repoMatches",
                                     "repository_pattern": "**", "tag_decoration": "matches",
                                     "tag_pattern": "rel-*"}, form_page=tab)
    assert "Rule added." in admin_pages.get(added.headers["Location"]).text
    artifact = f"/harbor/projects/{project}/repositories/kept/-/artifacts/{pushed.digest}"
    refused = admin_pages.submit(f"{artifact}/tags/rel-1/delete", {}, form_page=artifact)
    assert refused.headers["Location"] == artifact
    page = admin_pages.get(artifact)
    assert "flash-error" in page.text and "rel-1" in page.text


def test_artifact_page_lists_its_accessories(registry, admin_pages: PageClient) -> None:
    import json

    from tests.support.oci import OCI_MANIFEST, descriptor, push_blob, push_image, sha256
    from tests.support.server import admin_http

    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    repo = f"{project}/signed"
    image = push_image(registry.url, repo, tag="v1", seed="signed")
    empty = b"{}"
    push_blob(registry.url, repo, empty)
    signature = b"not really a signature"
    push_blob(registry.url, repo, signature)
    referrer = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
        "config": descriptor("application/vnd.oci.empty.v1+json", empty),
        "layers": [descriptor("application/octet-stream", signature)],
        "subject": descriptor(OCI_MANIFEST, image.manifest),
    }).encode()
    put = admin_http.put(f"{registry.url}/v2/{repo}/manifests/{sha256(referrer)}",
                         data=referrer, headers={"Content-Type": OCI_MANIFEST}, timeout=30)
    assert put.status_code == 201, put.text
    page = admin_pages.get(
        f"/harbor/projects/{project}/repositories/signed/-/artifacts/{image.digest}")
    assert 'id="accessories"' in page.text
    assert "Signature (cosign)" in page.text and sha256(referrer)[:19] in page.text
    # the REST list gives them too with Harbor's with_accessory, and only then
    listed = admin.get(f"/projects/{project}/repositories/signed/artifacts",
                       params={"with_accessory": "true"}).json()
    subject = next(a for a in listed if a["digest"] == image.digest)
    assert [(x["digest"], x["type"], x["subject_artifact_id"], x["subject_artifact_repo"])
            for x in subject["accessories"]] == [
        (sha256(referrer), "signature.cosign", subject["id"], repo)]
    plain = admin.get(f"/projects/{project}/repositories/signed/artifacts").json()
    assert all("accessories" not in a for a in plain)
    assert [a["digest"] for a in plain] == [image.digest]  # the signature is no row
    # the repository page lists the subject alone, its signature beside it
    listing = admin_pages.get(f"/harbor/projects/{project}/repositories/signed").text
    rows = re.findall(r'<a class="digest" href="[^"]*/-/artifacts/(sha256:[0-9a-f]{64})"',
                      listing)
    assert rows == [image.digest]
    assert (f'<a class="accessory" href="/harbor/projects/{project}/repositories/signed/-/'
            f'artifacts/{sha256(referrer)}">Signature (cosign)</a>') in listing


def test_webhooks_tab_adds_and_deletes_a_policy_keeping_the_auth_header_secret(
        registry, admin_pages: PageClient) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    tab = f"/harbor/projects/{project}/webhooks"
    added = admin_pages.submit(tab, {
        "name": "ci-hook", "type": "http", "payload_format": "Default",
        "address": "http://127.0.0.1:9/hook", "auth_header": "Bearer very-secret-value",
        "event_PUSH_ARTIFACT": "on", "event_DELETE_ARTIFACT": "on"}, form_page=tab)
    page = admin_pages.get(added.headers["Location"])
    assert "Webhook ci-hook added." in page.text
    assert "auth header set" in page.text and "very-secret-value" not in page.text
    policy_id = re.search(rf'href="{tab}/(\d+)/delete"', page.text).group(1)
    gone = admin_pages.submit(f"{tab}/{policy_id}/delete", {}, form_page=tab)
    assert "Webhook deleted." in admin_pages.get(gone.headers["Location"]).text
    assert "No webhooks." in admin_pages.get(tab).text


def test_another_sites_login_form_is_refused(registry) -> None:
    pages = PageClient(registry.url)
    fields = {"principal": "admin", "password": registry.admin_password, "next": ""}
    forged = pages.post("/c/login", fields, headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403 and "sid" not in forged.cookies
    own = pages.post("/c/login", fields, headers={"Origin": registry.url})
    assert own.status_code == 303 and "sid" in own.cookies


def test_admin_tests_an_endpoint_runs_a_policy_and_reads_a_task_log(
        registry, admin_pages: PageClient) -> None:
    from tests.support.oci import push_image

    admin = Client(registry.url, ("admin", registry.admin_password))
    source, target = create_project(admin), create_project(admin)
    push_image(registry.url, f"{source}/app", tag="v1", seed="replicated")
    endpoint = admin.post("/registries", json={
        "name": unique("self"), "type": "harbor", "url": registry.url, "insecure": True,
        "credential": {"type": "basic", "access_key": "admin",
                       "access_secret": registry.admin_password}})
    assert endpoint.status_code == 201, endpoint.text
    endpoint_id = endpoint.headers["Location"].rsplit("/", 1)[1]
    policy = admin.post("/replication/policies", json={
        "name": unique("copy"), "trigger": {"type": "manual"}, "override": True,
        "enabled": True, "dest_registry": {"id": int(endpoint_id)}, "dest_namespace": target,
        "filters": [{"type": "name", "value": f"{source}/**"}]})
    assert policy.status_code == 201, policy.text
    policy_id = policy.headers["Location"].rsplit("/", 1)[1]

    overview = "/harbor/admin/replication"
    pinged = admin_pages.submit(f"/harbor/admin/registries/{endpoint_id}/ping", {},
                                form_page=overview)
    assert "answers" in admin_pages.get(pinged.headers["Location"]).text
    started = admin_pages.submit(f"/harbor/admin/replication/policies/{policy_id}/start", {},
                                 form_page=overview)
    page = admin_pages.get(started.headers["Location"])
    assert "Replication started." in page.text
    execution = re.search(r'href="/harbor/admin/replication/executions/(\d+)"',
                          page.text).group(1)
    deadline = time.monotonic() + 60
    while True:
        detail = admin_pages.get(f"/harbor/admin/replication/executions/{execution}")
        found = re.search(r'href="(/harbor/admin/replication/executions/\d+/tasks/\d+)"',
                          detail.text)
        if (found and "Success" in detail.text) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert found, detail.text
    log = admin_pages.get(found.group(1))
    assert log.status_code == 200 and "copied" in log.text


def test_project_admin_changes_a_role_and_removes_a_member(registry,
                                                           admin_pages: PageClient) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    user = create_user(admin)
    tab = f"/harbor/projects/{project}/members"
    added = admin_pages.submit(tab, {"member_type": "user", "member_name": user.username,
                                     "role_id": "3"}, form_page=tab)
    assert f"{user.username} added as Guest." in admin_pages.get(added.headers["Location"]).text
    member_id = admin.get(f"/projects/{project}/members",
                          params={"entityname": user.username}).json()[0]["id"]
    changed = admin_pages.submit(f"{tab}/{member_id}", {"role_id": "4"}, form_page=tab)
    assert "Role changed to Maintainer." in admin_pages.get(changed.headers["Location"]).text
    assert admin.get(f"/projects/{project}/members/{member_id}").json()["role_id"] == 4
    assert "Remove" in admin_pages.get(f"{tab}/{member_id}/delete").text
    removed = admin_pages.submit(f"{tab}/{member_id}/delete", {}, form_page=tab)
    assert "Member removed." in admin_pages.get(removed.headers["Location"]).text
    assert admin.get(f"/projects/{project}/members/{member_id}").status_code == 404
    unknown = admin_pages.submit(tab, {"member_type": "user", "member_name": "nobody-here",
                                       "role_id": "2"}, form_page=tab)
    assert "not found" in admin_pages.get(unknown.headers["Location"]).text


def test_self_registration_from_the_sign_in_page_then_profile_edit(registry) -> None:
    admin = Client(registry.url, ("admin", registry.admin_password))
    pages = PageClient(registry.url)
    assert pages.get("/harbor/sign-up").status_code == 403
    assert 'id="sign-up-link"' not in pages.get("/harbor/sign-in").text
    assert admin.put("/configurations", json={"self_registration": True}).status_code == 200
    try:
        assert 'id="sign-up-link"' in pages.get("/harbor/sign-in").text
        name = unique("self")
        fields = {"username": name, "email": f"{name}@example.org",
                  "password": "Self-Made-Pass1", "realname": "Self Made"}
        forged = pages.post("/harbor/sign-up", fields, headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403
        made = pages.post("/harbor/sign-up", fields)
        assert made.status_code == 303 and made.headers["Location"].startswith(
            "/harbor/sign-in?principal=")
        assert "Account created" in pages.get(made.headers["Location"]).text
    finally:
        admin.put("/configurations", json={"self_registration": False})
    assert pages.post("/harbor/sign-up", fields).status_code == 403
    assert pages.sign_in(name, "Self-Made-Pass1").status_code == 303
    saved = pages.submit("/harbor/account/profile", {"email": f"new-{name}@example.org",
                                                     "realname": "Renamed"},
                         form_page="/harbor/account")
    page = pages.get(saved.headers["Location"])
    assert "Profile saved." in page.text and f"new-{name}@example.org" in page.text


def test_admin_schedules_garbage_collection(admin_pages: PageClient) -> None:
    gc = "/harbor/admin/gc"
    saved = admin_pages.submit(f"{gc}/schedule", {"type": "Custom", "cron": "0 30 2 * * *"},
                               form_page=gc)
    try:
        page = admin_pages.get(saved.headers["Location"])
        assert "Schedule saved." in page.text and "0 30 2 * * *" in page.text
        bad = admin_pages.submit(f"{gc}/schedule", {"type": "Custom", "cron": "whenever"},
                                 form_page=gc)
        assert "flash-error" in admin_pages.get(bad.headers["Location"]).text
    finally:
        admin_pages.submit(f"{gc}/schedule", {"type": "None"}, form_page=gc)
    assert "No schedule" in admin_pages.get(gc).text


def test_every_answer_is_a_page_with_the_security_headers(registry) -> None:
    """Static files, addresses refused before the session is known and HEAD all go through
    the shared request loop, and still answer as the portal does."""
    pages = PageClient(registry.url)
    css = pages.get("/harbor/static/portal.css")
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css"
    assert css.headers["Cache-Control"] == "public, max-age=3600"
    assert css.headers["Content-Security-Policy"].startswith("default-src 'self'")
    malformed = pages.get("/harbor/projects/%ff")
    assert malformed.status_code == 400
    assert malformed.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "percent-encoded UTF-8" in malformed.text
    assert malformed.headers["X-Frame-Options"] == "DENY"
    assert malformed.headers["Cache-Control"] == "no-store"
    head = pages.http.head(registry.url + "/harbor/sign-in", timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0


def test_ca_certificate_is_offered_as_harbor_does(start_registry, tmp_path) -> None:
    """``ca_certificate_file`` set: getcert answers the PEM to anyone as a ca.crt download,
    systeminfo says so, and the portal's certificate page links it (signed in or not)."""
    import requests

    from tests.support.tls_ca import make_server_certificate

    ca_file = make_server_certificate(tmp_path / "tls").ca_file
    server = start_registry({"HT_CA_CERTIFICATE_FILE": str(ca_file)})
    download = requests.get(f"{server.url}/api/v2.0/systeminfo/getcert", timeout=30)
    assert download.status_code == 200
    assert download.content == ca_file.read_bytes()
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"] == 'attachment; filename="ca.crt"'
    info = requests.get(f"{server.url}/api/v2.0/systeminfo", timeout=30,
                        auth=("admin", server.admin_password)).json()
    assert info["has_ca_root"] is True
    page = PageClient(server.url).get("/harbor/certificate")
    assert page.status_code == 200
    assert 'href="/api/v2.0/systeminfo/getcert"' in page.text
    assert f"/etc/docker/certs.d/{server.host}" in page.text
    ca_file.unlink()  # gone since: nothing to offer, and the page says so
    assert requests.get(f"{server.url}/api/v2.0/systeminfo/getcert",
                        timeout=30).status_code == 404
    assert 'id="no-ca"' in PageClient(server.url).get("/harbor/certificate").text
