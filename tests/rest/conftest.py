"""REST API helpers: a small client per caller, and factories for users and projects."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

API = "/api/v2.0"
PASSWORD = "Harbor-Test1"


@dataclass
class Client:
    """requests against one server's API as one caller (``auth`` None: anonymous)."""

    url: str
    auth: tuple[str, str] | None = None
    headers: dict[str, str] | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**(self.headers or {}), **kwargs.pop("headers", {})}
        return requests.request(method, self.url + API + path, auth=self.auth,
                                headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def anonymous(self) -> Client:
        return Client(self.url)

    def as_user(self, username: str, password: str) -> Client:
        return Client(self.url, (username, password))


@dataclass
class User:
    id: int
    username: str
    password: str
    client: Client


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def error_code(response: requests.Response) -> str:
    return response.json()["errors"][0]["code"]


def create_user(admin: Client, **fields: Any) -> User:
    username = fields.pop("username", None) or unique("user")
    password = fields.pop("password", PASSWORD)
    body = {"username": username, "password": password,
            "email": fields.pop("email", f"{username}@example.com"),
            "realname": fields.pop("realname", username.title()), **fields}
    response = admin.post("/users", json=body)
    assert response.status_code == 201, response.text
    user_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return User(user_id, username, password, admin.as_user(username, password))


def create_project(client: Client, public: bool = False, name: str | None = None) -> str:
    name = name or unique("proj")
    response = client.post("/projects", json={"project_name": name,
                                              "metadata": {"public": str(public).lower()}})
    assert response.status_code == 201, response.text
    return name


def add_member(client: Client, project: str, user: User, role_id: int) -> int:
    response = client.post(f"/projects/{project}/members",
                           json={"role_id": role_id, "member_user": {"username": user.username}})
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def admin(registry) -> Client:
    return Client(registry.url, ("admin", registry.admin_password))


@pytest.fixture
def new_user(admin: Client) -> Callable[..., User]:
    return lambda **fields: create_user(admin, **fields)


@pytest.fixture
def new_project(admin: Client) -> Callable[..., str]:
    return lambda **kwargs: create_project(admin, **kwargs)
