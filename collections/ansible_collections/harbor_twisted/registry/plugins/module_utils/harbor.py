# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""HTTP to Harbor's REST API v2.0 with the collection's shared connection options.

Every failure becomes a :class:`HarborError` whose text says what was asked, what the
server answered and, where it helps, what to check; modules turn it into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url

CONNECTION_SPEC = dict(
    url=dict(type="str", required=True),
    username=dict(type="str", default="admin"),
    password=dict(type="str", required=True, no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
)

# Final states of jobs: Harbor's words and harbor-twisted's (job_status, status).
SUCCEEDED = ("Success", "Succeed")
FINISHED = SUCCEEDED + ("Error", "Failed", "Stopped")

# Harbor's project role ids by the names the modules take.
ROLES = {
    "project_admin": 1,
    "developer": 2,
    "guest": 3,
    "maintainer": 4,
    "limited_guest": 5,
}
ROLE_NAMES = dict((v, k) for k, v in ROLES.items())

PAGE_SIZE = 100


class HarborError(Exception):
    """A failed call, with a message fit for ``fail_json``."""

    def __init__(self, message, status=None, changed=False):
        super(HarborError, self).__init__(message)
        self.message = message
        self.status = status
        self.changed = changed  # something was written before the failure


def connection_spec(**extra):
    """The shared connection options plus the module's own."""
    spec = dict((k, dict(v)) for k, v in CONNECTION_SPEC.items())
    spec.update(extra)
    return spec


def path_part(text):
    """One percent-encoded path segment (a name may hold any character)."""
    return quote(to_native(text), safe="")


def _server_message(raw):
    """The ``errors[].message`` texts of Harbor's error body, or the body itself."""
    text = to_text(raw or b"", errors="surrogate_or_replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(document, dict) and isinstance(document.get("errors"), list):
        return "; ".join(to_text(e.get("message", "")) for e in document["errors"]
                         if isinstance(e, dict)) or text[:300]
    return text[:300]


class HarborApi(object):
    """Calls ``{url}/api/v2.0{path}`` as the configured user."""

    def __init__(self, params, timeout=30):
        self.base = params["url"].rstrip("/") + "/api/v2.0"
        self.username = params["username"]
        self.password = params["password"]
        self.validate_certs = params["validate_certs"]
        self.ca_path = params.get("ca_path")
        self.timeout = timeout

    def call(self, method, path, body=None, query=None, headers=None, missing_ok=False):
        """``(status, decoded JSON or text or None, response headers)``; a 404 with
        ``missing_ok`` answers ``(404, None, {})``."""
        url = self.base + path
        if query:
            url += "?" + urlencode(sorted(query.items()))
        # projects are always named by name, never by id, even when a name is all digits
        sent = {"Accept": "application/json", "X-Is-Resource-Name": "true"}
        data = None
        if body is not None:
            data = json.dumps(body)
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        try:
            response = open_url(
                url, data=data, headers=sent, method=method, url_username=self.username,
                url_password=self.password, force_basic_auth=True,
                validate_certs=self.validate_certs, ca_path=self.ca_path,
                timeout=self.timeout, follow_redirects="none")
            status = response.getcode()
            raw = response.read()
            answer_headers = dict((k.lower(), v) for k, v in response.headers.items())
        except HTTPError as error:
            if error.code == 404 and missing_ok:
                return 404, None, {}
            raise self._http_error(method, path, error)
        except URLError as error:
            raise HarborError("cannot reach %s: %s (check url, and validate_certs or ca_path "
                              "for TLS)" % (self.base, to_native(error.reason)))
        except (OSError, ValueError) as error:
            raise HarborError("cannot reach %s: %s" % (self.base, to_native(error)))
        return status, self._decode(raw, answer_headers), answer_headers

    def _http_error(self, method, path, error):
        try:
            raw = error.read()
        except Exception:  # pylint: disable=broad-except
            raw = b""
        message = _server_message(raw) or to_native(error.reason)
        if error.code == 401:
            return HarborError(
                "%s %s: 401 unauthorized: the registry refused user %r (check username and "
                "password): %s" % (method, path, self.username, message), 401)
        if error.code == 403:
            return HarborError("%s %s: 403 forbidden: user %r may not do this: %s"
                               % (method, path, self.username, message), 403)
        return HarborError("%s %s: %d %s" % (method, path, error.code, message), error.code)

    @staticmethod
    def _decode(raw, headers):
        if not raw:
            return None
        text = to_text(raw, errors="surrogate_or_replace")
        if "json" in headers.get("content-type", ""):
            return json.loads(text)
        return text

    def get(self, path, query=None, missing_ok=False):
        return self.call("GET", path, query=query, missing_ok=missing_ok)[1]

    def post(self, path, body):
        """The new object's id, from the ``Location`` header's last segment (or None)."""
        _status, _data, headers = self.call("POST", path, body=body)
        location = headers.get("location", "")
        tail = location.rstrip("/").rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def post_answer(self, path, body):
        """The decoded answer of a POST (robots answer their secret this way)."""
        return self.call("POST", path, body=body)[1]

    def put(self, path, body):
        return self.call("PUT", path, body=body)[1]

    def delete(self, path):
        return self.call("DELETE", path)[1]

    def list_all(self, path, query=None):
        """Every item of a paginated list."""
        items = []
        page = 1
        while True:
            params = dict(query or {})
            params.update(page=page, page_size=PAGE_SIZE)
            batch = self.get(path, params) or []
            items.extend(batch)
            if len(batch) < PAGE_SIZE:
                return items
            page += 1

    def find_by_name(self, path, name, key="name", query_key="name"):
        """The one item whose ``key`` is exactly ``name`` (list filters match substrings)."""
        for item in self.list_all(path, {query_key: name}):
            if item.get(key) == name:
                return item
        return None

    # name -> id lookups

    def project(self, name):
        """The project named ``name`` (a name of digits too), or None."""
        return self.get("/projects/" + path_part(name), missing_ok=True)

    def project_required(self, name):
        found = self.project(name)
        if found is None:
            raise HarborError("project %r does not exist" % name, 404)
        return found

    def registry_id(self, name):
        """The id of the replication endpoint named ``name``."""
        found = self.find_by_name("/registries", name)
        if found is None:
            raise HarborError("replication endpoint (registry) %r does not exist" % name, 404)
        return found["id"]

    def replication_policy_required(self, name):
        found = self.find_by_name("/replication/policies", name)
        if found is None:
            raise HarborError("replication policy %r does not exist" % name, 404)
        return found

    def user(self, name):
        """The user named ``name`` (exact), or None."""
        for item in self.list_all("/users/search", {"username": name}):
            if item.get("username") == name:
                return self.get("/users/%d" % item["user_id"])
        return None


def role_id(name):
    """Harbor's role id for a role name of the collection."""
    if name not in ROLES:
        raise HarborError("unknown role %r: use one of %s" % (name, ", ".join(sorted(ROLES))))
    return ROLES[name]
