"""The API's plumbing: routing, errors, authentication, bodies, pagination."""

from __future__ import annotations

import base64

import requests

from tests.rest.conftest import API, error_code, unique


def test_ping_answers_pong_as_text(admin):
    response = admin.anonymous().get("/ping")
    assert response.status_code == 200
    assert response.text == "Pong"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_unknown_endpoint_is_404_with_harbor_error_body(admin):
    response = admin.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"code": "NOT_FOUND", "message": "no such API endpoint"}]}


def test_wrong_method_is_405_with_allow(admin):
    response = admin.request("PATCH", "/projects")
    assert response.status_code == 405
    assert error_code(response) == "METHOD_NOT_ALLOWED"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_trailing_slash_is_accepted(admin):
    assert admin.get("/projects/").status_code == 200


def test_request_id_is_echoed_or_made(admin):
    assert admin.get("/ping", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == \
        "abc-123"
    assert len(admin.get("/ping").headers["X-Request-Id"]) == 32


def test_wrong_password_is_401_even_on_public_endpoints(admin):
    response = admin.as_user("admin", "not-the-password").get("/projects")
    assert response.status_code == 401
    assert error_code(response) == "UNAUTHORIZED"
    assert admin.as_user(unique("ghost"), "Whatever1").get("/users/current").status_code == 401


def test_other_schemes_and_garbled_basic_are_401(admin):
    for value in ("Bearer abc", "Basic !!!notbase64", "Basic " +
                  base64.b64encode(b"no-colon").decode()):
        response = admin.anonymous().get("/projects", headers={"Authorization": value})
        assert response.status_code == 401, value


def test_anonymous_where_a_login_is_needed_is_401_and_non_admin_is_403(admin, new_user):
    assert admin.anonymous().get("/users").status_code == 401
    user = new_user()
    response = user.client.get("/users")
    assert response.status_code == 403
    assert error_code(response) == "FORBIDDEN"


def test_bad_json_bodies_are_400_not_500(admin):
    cases = [b"{", b"[]", b'"text"', b"\xff\xfe", b'{"project_name": 5}',
             b'{"project_name": ["a"]}', b"[" * 100000 + b"]" * 100000]
    for body in cases:
        response = admin.post("/projects", data=body,
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (body[:20], response.text)
        assert error_code(response) == "BAD_REQUEST"
    assert admin.post("/projects").status_code == 400  # no body at all


def test_an_oversized_body_is_refused(admin):
    response = admin.post("/projects", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_odd_paths_are_4xx(admin):
    for path in ("/projects/%ff%fe", "/users/%2e%2e", "/users/99999999999999999999",
                 "/projects/a%2Fb/members", "/users/-1"):
        response = admin.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)


def test_pagination_headers_and_links(admin, new_project):
    marker = unique("pg")
    names = sorted(new_project(name=f"{marker}-{i}") for i in range(5))
    response = admin.get("/projects", params={"name": marker, "page": 2, "page_size": 2})
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "5"
    assert [p["name"] for p in response.json()] == names[2:4]
    link = response.headers["Link"]
    assert f'<{API}/projects?name={marker}&page=1&page_size=2>; rel="prev"' in link
    assert f'<{API}/projects?name={marker}&page=3&page_size=2>; rel="next"' in link
    last = admin.get("/projects", params={"name": marker, "page": 3, "page_size": 2})
    assert [p["name"] for p in last.json()] == names[4:]
    assert "next" not in last.headers.get("Link", "")
    beyond = admin.get("/projects", params={"name": marker, "page": 9, "page_size": 2})
    assert beyond.json() == [] and beyond.headers["X-Total-Count"] == "5"


def test_default_page_size_is_10(admin, new_project):
    marker = unique("ten")
    for i in range(11):
        new_project(name=f"{marker}-{i:02d}")
    response = admin.get("/projects", params={"name": marker})
    assert len(response.json()) == 10
    assert response.headers["X-Total-Count"] == "11"


def test_bad_paging_and_query_values_are_400(admin):
    for params in ({"page": 0}, {"page": "x"}, {"page_size": 0}, {"page_size": 101},
                   {"q": "name"}, {"q": "=x"}, {"q": "name="}, {"q": "name=~"},
                   {"q": "creation_time=[~]"}, {"q": "name=[a~b"}, {"q": "name=(a b)"},
                   {"q": "nosuchkey=1"}, {"q": "public=maybe"}, {"q": "project_id=abc"},
                   {"q": "creation_time=[yesterday~]"}, {"q": "public=~tr"},
                   {"sort": "nosuchkey"}, {"sort": "-"}):
        response = admin.get("/projects", params=params)
        assert response.status_code == 400, (params, response.text)


def test_query_syntax_exact_fuzzy_list_range_and_sort(admin, new_project):
    marker = unique("qs")
    a, b, c = (new_project(name=f"{marker}-{s}") for s in ("a", "b", "c"))
    names = lambda r: [p["name"] for p in r.json()]  # noqa: E731
    assert names(admin.get("/projects", params={"q": f"name={a}"})) == [a]
    assert names(admin.get("/projects", params={"q": f"name=~{marker}", "sort": "-name"})) == \
        [c, b, a]
    assert names(admin.get("/projects", params={"q": f"name={{{a} {c}}}"})) == [a, c]
    ids = {p["name"]: p["project_id"] for p in admin.get(
        "/projects", params={"q": f"name=~{marker}"}).json()}
    ranged = admin.get("/projects", params={"q": f"project_id=[{ids[b]}~{ids[c]}]"})
    assert names(ranged) == [b, c]
    since = admin.get("/projects", params={"q": f"name=~{marker},creation_time=[2000-01-01 "
                                           f"00:00:00~]"})
    assert len(since.json()) == 3
    future = admin.get("/projects", params={"q": f"name=~{marker},creation_time=[2999-01-01T"
                                            f"00:00:00~]"})
    assert future.json() == []


def test_raw_requests_with_percent_encoded_query_values(admin, new_project):
    name = new_project()
    response = requests.get(f"{admin.url}{API}/projects?q=name%3D{name}", auth=admin.auth,
                            timeout=10)
    assert [p["name"] for p in response.json()] == [name]


HOSTILE = [
    ("GET", "/projects", {"params": {"q": "project_id=99999999999999999999"}}),
    ("GET", "/projects", {"params": {"q": "project_id=9999999999"}}),
    ("GET", "/projects", {"params": {"q": "project_id=[1~9999999999999]"}}),
    ("GET", "/projects", {"params": {"q": "creation_time=[9999-12-31T23:59:59-05:00~]"}}),
    ("GET", "/projects", {"params": {"q": "creation_time=[0001-01-01T00:00:00+05:00~]"}}),
    ("GET", "/projects", {"params": {"page": 1000000000, "page_size": 100}}),
    ("GET", "/projects", {"params": {"name": "%_\\"}}),
    ("GET", "/projects", {"params": {"q": "name=\x00"}}),
    ("GET", "/projects/%00", {}),
    ("GET", "/projects/999999999999999999", {}),
    ("GET", "/projects/9999999999999999999999", {}),
    ("GET", "/users/999999999999999999", {}),
    ("GET", "/users/search", {"params": {"username": "%"}}),
    ("GET", "/audit-logs", {"params": {"q": "project_id=[~99999999999]"}}),
    ("GET", "/projects/library/members/999999999999999999", {}),
    ("POST", "/projects/library/members",
     {"json": {"role_id": 2, "member_user": {"user_id": 2**62}}}),
    ("POST", "/projects/library/members", {"json": {"role_id": 2, "member_group": {"id": 2**62}}}),
    ("POST", "/projects/library/members",
     {"json": {"role_id": 2, "member_user": {"username": "a\x00b"}}}),
    ("POST", "/projects", {"json": {"project_name": "ok\x00bad"}}),
    ("POST", "/projects", {"json": {"project_name": unique("big"), "storage_limit": 2**70}}),
    ("PUT", "/users/1", {"json": {"email": "a" * 300 + "@example.com"}}),
    ("PUT", "/users/1", {"json": {"realname": "nul\x00"}}),
    ("POST", "/users", {"json": {"username": unique("n"), "password": "Harbor-Test1",
                                 "email": "a\x00b@example.com"}}),
]


def test_hostile_inputs_never_cause_a_500(admin):
    answers = {(m, p, str(kw)): admin.request(m, p, **kw).status_code for m, p, kw in HOSTILE}
    assert all(status < 500 for status in answers.values()), answers
