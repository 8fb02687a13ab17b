"""Portal sessions: /c/login and /c/log_out, the sid cookie on the API, Harbor's CSRF rule,
expiry, and sessions that survive restarts and work across processes."""

from __future__ import annotations

import time

import requests

from tests.rest.conftest import API, Client, create_user, unique

CSRF = "X-Harbor-CSRF-Token"


def _login(url: str, username: str, password: str, **kwargs) -> requests.Response:
    return requests.post(f"{url}/c/login", data={"principal": username, "password": password},
                         timeout=30, **kwargs)


def _set_cookies(response: requests.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, as sent."""
    return {value.split("=", 1)[0]: value for value in response.raw.headers.getlist("Set-Cookie")}


class Browser:
    """A cookie-carrying caller, as the portal is (no Basic credentials)."""

    def __init__(self, url: str, response: requests.Response) -> None:
        assert response.status_code == 200, response.text
        self.url = url
        self.sid = response.cookies["sid"]
        self.csrf = response.headers[CSRF]

    def request(self, method: str, path: str, csrf: str | None = None,
                **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if csrf is not None:
            headers[CSRF] = csrf
        return requests.request(method, self.url + API + path, cookies={"sid": self.sid},
                                headers=headers, timeout=30, **kwargs)


def _browser(url: str, username: str, password: str) -> Browser:
    return Browser(url, _login(url, username, password))


def test_login_sets_a_protected_session_cookie_and_is_audited(registry, admin, new_user):
    user = new_user()
    response = _login(registry.url, user.username, user.password)
    assert response.status_code == 200, response.text
    cookies = _set_cookies(response)
    session_cookie = cookies["sid"].lower()
    assert "httponly" in session_cookie and "samesite=lax" in session_cookie
    assert "secure" not in session_cookie  # plain HTTP here
    assert "path=/" in session_cookie
    token = response.headers[CSRF]
    assert cookies["__csrf"].startswith(f"__csrf={token};")
    assert "httponly" not in cookies["__csrf"].lower()  # the portal's scripts read it

    browser = Browser(registry.url, response)
    current = browser.request("GET", "/users/current")
    assert current.status_code == 200 and current.json()["username"] == user.username
    assert current.headers[CSRF] == token

    logins = admin.get("/audit-logs", params={
        "q": f"username={user.username},operation=login"}).json()
    assert logins and logins[0]["client_ip"] == "127.0.0.1"


def test_failed_login_is_refused_and_audited(registry, admin, new_user):
    user = new_user()
    response = _login(registry.url, user.username, "wrong-Password1")
    assert response.status_code == 401 and "sid" not in _set_cookies(response)
    assert _login(registry.url, unique("nobody"), "x").status_code == 401
    failed = admin.get("/audit-logs", params={
        "q": f"username={user.username},operation=login_failed"}).json()
    assert len(failed) == 1


def test_login_wants_a_form_posted(registry):
    assert requests.get(f"{registry.url}/c/login", timeout=10).status_code == 405
    as_json = requests.post(f"{registry.url}/c/login", json={"principal": "admin"}, timeout=10)
    assert as_json.status_code == 400
    assert requests.get(f"{registry.url}/c/nothing", timeout=10).status_code == 404


def test_changes_through_a_session_need_the_csrf_token(registry, admin):
    browser = _browser(registry.url, "admin", registry.admin_password)
    body = {"group_name": unique("csrf"), "group_type": 2}
    for token in (None, "", "forged-token"):
        refused = browser.request("POST", "/usergroups", csrf=token, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"][0]["message"] == "CSRF token invalid"
    assert admin.get("/usergroups", params={"group_name": body["group_name"]}).json() == []

    created = browser.request("POST", "/usergroups", csrf=browser.csrf, json=body)
    assert created.status_code == 201, created.text
    location = created.headers["Location"].removeprefix(API)
    assert browser.request("DELETE", location).status_code == 403
    assert browser.request("DELETE", location, csrf=browser.csrf).status_code == 200

    # Basic credentials need no token, even with a session cookie alongside
    with_basic = admin.post("/usergroups", json={**body, "group_name": unique("csrf")},
                            cookies={"sid": browser.sid})
    assert with_basic.status_code == 201
    admin.delete(with_basic.headers["Location"].removeprefix(API))


def test_csrf_token_belongs_to_one_session(registry):
    first = _browser(registry.url, "admin", registry.admin_password)
    second = _browser(registry.url, "admin", registry.admin_password)
    assert first.csrf != second.csrf and first.sid != second.sid
    response = first.request("PUT", "/configurations", csrf=second.csrf,
                             json={"robot_name_prefix": "robot$"})
    assert response.status_code == 403


def test_log_out_ends_the_session(registry, new_user):
    user = new_user()
    browser = _browser(registry.url, user.username, user.password)
    response = requests.get(f"{registry.url}/c/log_out", cookies={"sid": browser.sid},
                            timeout=10)
    assert response.status_code == 200
    cleared = _set_cookies(response)
    assert "max-age=0" in cleared["sid"].lower() and cleared["sid"].startswith("sid=;")
    assert browser.request("GET", "/users/current").status_code == 401
    assert requests.get(f"{registry.url}/c/log_out", timeout=10).status_code == 200


def test_login_replaces_the_session_the_browser_had(registry, new_user):
    user = new_user()
    old = _browser(registry.url, user.username, user.password)
    response = _login(registry.url, user.username, user.password, cookies={"sid": old.sid})
    new = Browser(registry.url, response)
    assert new.sid != old.sid
    assert old.request("GET", "/users/current").status_code == 401
    assert new.request("GET", "/users/current").status_code == 200


def test_sessions_follow_the_user(registry, admin, new_user):
    user = new_user()
    browser = _browser(registry.url, user.username, user.password)
    assert browser.request("GET", "/users").status_code == 403
    admin.put(f"/users/{user.id}/sysadmin", json={"sysadmin_flag": True})
    assert browser.request("GET", "/users").status_code == 200
    admin.delete(f"/users/{user.id}")
    assert browser.request("GET", "/users/current").status_code == 401


def test_idle_and_absolute_expiry_and_secure_cookie(start_registry):
    server = start_registry({"HT_SESSION_IDLE_SECONDS": "2", "HT_SESSION_MAX_SECONDS": "5",
                             "HT_EXTERNAL_URL": "https://harbor.example.com"})
    response = _login(server.url, "admin", server.admin_password)
    assert "secure" in _set_cookies(response)["sid"].lower()
    assert "secure" in _set_cookies(response)["__csrf"].lower()
    active = Browser(server.url, response)
    started = time.monotonic()
    while time.monotonic() - started < 4:  # used every second: the idle timeout slides
        assert active.request("GET", "/users/current").status_code == 200
        time.sleep(1)
    time.sleep(max(0.0, 5.5 - (time.monotonic() - started)))
    assert active.request("GET", "/users/current").status_code == 401  # absolute limit

    idle = _browser(server.url, "admin", server.admin_password)
    assert idle.request("GET", "/users/current").status_code == 200
    time.sleep(2.5)
    assert idle.request("GET", "/users/current").status_code == 401


def test_sessions_survive_restarts_and_work_across_processes(start_registry, tmp_path):
    data_dir = tmp_path / "shared"
    settings = {"HT_SETTINGS_REFRESH_SECONDS": "1"}
    first = start_registry(settings, data_dir=data_dir)
    admin = Client(first.url, ("admin", first.admin_password))
    user = create_user(admin)
    browser = _browser(first.url, user.username, user.password)
    admin_browser = _browser(first.url, "admin", first.admin_password)

    second = start_registry(settings, data_dir=data_dir)  # another process, same database
    browser.url = second.url
    assert browser.request("GET", "/users/current").json()["username"] == user.username
    admin_browser.url = second.url
    changed = admin_browser.request("PUT", "/configurations", csrf=admin_browser.csrf,
                                    json={"self_registration": True})
    assert changed.status_code == 200
    deadline = time.monotonic() + 5  # the first process re-reads settings every second
    while not admin.get("/systeminfo").json()["self_registration"]:
        assert time.monotonic() < deadline, "the other process never saw the change"
        time.sleep(0.2)

    first.stop()
    second.stop()
    third = start_registry(data_dir=data_dir)
    browser.url = third.url
    assert browser.request("GET", "/users/current").status_code == 200
