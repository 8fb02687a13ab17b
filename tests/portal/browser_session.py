"""A requests session that behaves as a browser does toward the portal: it asks for HTML,
signs in through the form, and reads the CSRF token from the page's hidden field."""

from __future__ import annotations

import re

import requests

HIDDEN_CSRF = re.compile(r'name="_csrf" value="([^"]*)"')


class PageClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers["Accept"] = "text/html,application/xhtml+xml"

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.http.get(self.url + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, path: str, data: dict[str, str], **kwargs: object) -> requests.Response:
        return self.http.post(self.url + path, data=data, allow_redirects=False, timeout=30,
                              **kwargs)

    def sign_in(self, username: str, password: str, next_path: str = "") -> requests.Response:
        return self.post("/c/login", {"principal": username, "password": password,
                                      "next": next_path})

    def csrf(self, path: str = "/harbor/projects") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        found = HIDDEN_CSRF.search(page.text)
        assert found is not None, "the page carries no CSRF field"
        return found.group(1)

    def submit(self, path: str, fields: dict[str, str], form_page: str = "/harbor/projects"
               ) -> requests.Response:
        """POST a form as the page would, with the hidden CSRF field."""
        return self.post(path, {"_csrf": self.csrf(form_page), **fields})
