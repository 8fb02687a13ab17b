"""The authentication settings page against the test slapd: LDAP settings saved and fixed
ones read-only, "test connection" of what the form shows (success and a clear failure), and
the auth mode switch — dry run, then the confirmed switch, the way back refused unless
forced (issues 11 and 14)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.portal.browser_session import PageClient
from tests.rest.conftest import Client, create_user
from tests.support import ldap_directory as example
from tests.support.slapd import Slapd

AUTH = "/harbor/admin/authentication"
FLASH = re.compile(r'<p class="flash[^"]*"[^>]*>[^<]*</p>')
FIELD = re.compile(r'<(?:input|select)[^>]* name="(ldap_[a-z_]+)"[^>]*>')


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with example.example_directory(tmp_path_factory.mktemp("slapd-auth-page")) as server:
        yield server


def _flash_after(pages: PageClient, answer: requests.Response) -> str:
    assert answer.status_code == 303, answer.text
    page = pages.get(answer.headers["Location"])
    assert page.status_code == 200, page.text
    flash = FLASH.search(page.text)
    return page.text if flash is None else flash.group(0)


def _form_as_shown(html: str) -> dict[str, str]:
    """The LDAP form's fields as a browser sends them: enabled ones only, a checkbox only
    when checked, a select's chosen option."""
    fields: dict[str, str] = {}
    for found in FIELD.finditer(html):
        name, attributes = found.group(1), found.group(0)
        if " disabled" in attributes:
            continue
        if 'type="checkbox"' in attributes:
            if " checked" in attributes:
                fields[name] = "true"
            continue
        if attributes.startswith("<select"):
            options = html[found.end():].split("</select>")[0]
            chosen = re.search(r'<option value="([^"]*)" selected', options)
            fields[name] = chosen.group(1) if chosen else ""
            continue
        value = re.search(r' value="([^"]*)"', attributes)
        fields[name] = value.group(1) if value else ""
    return fields


def test_ldap_settings_test_connection_and_the_switch(start_registry, directory: Slapd,
                                                      tmp_path: Path) -> None:
    data_dir = tmp_path / "auth-page"
    example.write_search_password(data_dir / "secrets" / "ldap_search_password")
    env = example.ldap_settings(directory)
    del env["HT_AUTH_MODE"], env["HT_LDAP_TIMEOUT"]  # the page may change these two
    server = start_registry(env, data_dir)
    admin = Client(server.url, ("admin", server.admin_password))
    create_user(admin, username=example.ALICE.uid, email="alice-local@example.com")
    create_user(admin, username="zed-local")
    pages = PageClient(server.url)
    assert pages.sign_in("admin", server.admin_password).status_code == 303

    page = pages.get(AUTH)
    assert page.status_code == 200
    assert 'id="auth-mode">Database<' in page.text
    assert 'id="ldap_url" name="ldap_url" value="' + directory.url + '"' in page.text
    assert 'fixed in the configuration file' in page.text and ' disabled' in page.text

    form = _form_as_shown(page.text)
    saved = pages.submit(AUTH, {**form, "ldap_timeout": "4"}, AUTH)
    assert "LDAP settings saved." in _flash_after(pages, saved)
    assert admin.get("/configurations").json()["ldap_timeout"]["value"] == 4

    form = _form_as_shown(pages.get(AUTH).text)
    works = pages.submit(AUTH + "/ping", form, AUTH)
    assert "LDAP connection works" in _flash_after(pages, works)
    wrong = pages.submit(AUTH + "/ping", {**form, "ldap_search_password": "no"}, AUTH)
    assert "LDAP connection failed" in _flash_after(pages, wrong)

    plan = pages.get(AUTH + "/switch?to=ldap_auth")
    assert plan.status_code == 200
    assert "<strong>alice</strong>" in plan.text.split('id="switch-linked"')[1].split("</ul>")[0]
    kept = plan.text.split('id="switch-kept"')[1].split("</ul>")[0]
    assert "zed-local" in kept and "admin" in kept
    assert admin.get("/systeminfo").json()["auth_mode"] == "db_auth"  # a dry run only

    switched = pages.submit(AUTH + "/switch", {"to": "ldap_auth"}, AUTH + "/switch?to=ldap_auth")
    assert "Authentication mode is now LDAP" in _flash_after(pages, switched)
    assert admin.get("/systeminfo").json()["auth_mode"] == "ldap_auth"
    assert admin.as_user(example.ALICE.uid, example.ALICE.password).get(
        "/users/current").status_code == 200

    back = pages.get(AUTH + "/switch?to=db_auth")
    assert "alice" in back.text.split('id="switch-needs-reset"')[1].split("</ul>")[0]
    assert 'id="switch-force"' in back.text
    refused = pages.submit(AUTH + "/switch", {"to": "db_auth"}, AUTH + "/switch?to=db_auth")
    assert refused.headers["Location"] == AUTH + "/switch?to=db_auth"
    assert "back to db_auth is refused" in _flash_after(pages, refused)
    assert admin.get("/systeminfo").json()["auth_mode"] == "ldap_auth"
    forced = pages.submit(AUTH + "/switch", {"to": "db_auth", "force": "true"},
                          AUTH + "/switch?to=db_auth")
    assert "Authentication mode is now Database" in _flash_after(pages, forced)
    assert admin.get("/systeminfo").json()["auth_mode"] == "db_auth"


def test_the_page_and_its_forms_are_for_system_admins_only(registry) -> None:
    user = create_user(Client(registry.url, ("admin", registry.admin_password)))
    pages = PageClient(registry.url)
    assert pages.sign_in(user.username, user.password).status_code == 303
    assert pages.get(AUTH).status_code == 403
    assert pages.get(AUTH + "/switch?to=ldap_auth").status_code == 403
    token = pages.csrf()
    for path in (AUTH, AUTH + "/ping", AUTH + "/switch"):
        assert pages.post(path, {"_csrf": token, "to": "ldap_auth"}).status_code == 403


def test_test_connection_to_a_silent_server_fails_within_the_timeout_off_the_reactor(
        registry) -> None:
    """A directory that never answers: the page says so within ``ldap_timeout`` while the
    service keeps answering others (the LDAP work runs in a thread)."""
    import socket
    import threading
    import time

    silent = socket.socket()  # accepts connections (the backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        pages = PageClient(registry.url)
        assert pages.sign_in("admin", registry.admin_password).status_code == 303
        form = {**_form_as_shown(pages.get(AUTH).text), "ldap_timeout": "2",
                "ldap_url": f"ldap://127.0.0.1:{silent.getsockname()[1]}",
                "ldap_base_dn": "dc=example,dc=org", "ldap_search_dn": ""}
        answers: list[float] = []

        def meanwhile() -> None:
            time.sleep(0.5)
            started = time.monotonic()
            assert requests.get(f"{registry.url}/api/v2.0/ping", timeout=30).ok
            answers.append(time.monotonic() - started)

        other = threading.Thread(target=meanwhile)
        started = time.monotonic()
        other.start()
        tested = pages.submit(AUTH + "/ping", form, AUTH)
        elapsed = time.monotonic() - started
        other.join()
        shown = _flash_after(pages, tested)
        assert "LDAP connection failed" in shown
        assert 1.5 < elapsed < 10, (elapsed, shown)
        assert answers and answers[0] < 1.5, answers
        assert admin_ldap_url(registry) != form["ldap_url"]  # tested, not saved
    finally:
        silent.close()


def admin_ldap_url(registry) -> str:
    admin = Client(registry.url, ("admin", registry.admin_password))
    return admin.get("/configurations").json()["ldap_url"]["value"]
