#!/usr/bin/env python3
"""A stand-in for one registry host behind the load balancer (test fixture only).

Every answer names this host in an X-Backend header and in its JSON body, with the
forwarding headers it received, so the test sees where each request went:
- POST /v2/<name>/blobs/uploads/ answers 202 with a Location of a fresh upload id;
- GET /api/v2.0/health answers 200 {"status": "healthy"} (the health check), or 200
  {"status": "unhealthy"} while the file UNHEALTHY_FLAG exists, as harbor-twisted does when
  its database or storage fails;
- anything else answers 200; a request body is read to its end first.
Usage: standin_registry.py PORT CERTFILE KEYFILE (HTTPS on every address).
"""

import json
import os
import re
import socket
import ssl
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = os.environ.get("STANDIN_NAME") or socket.gethostname()
UPLOAD_START = re.compile(r"^/v2/(.+)/blobs/uploads/$")
UNHEALTHY_FLAG = "/etc/standin/unhealthy"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the load balancer reuses connections

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = len(self.rfile.read(length)) if length else 0
        path = self.path.split("?", 1)[0]
        status, headers = 200, {}
        if path == "/api/v2.0/health":
            health = "unhealthy" if os.path.exists(UNHEALTHY_FLAG) else "healthy"
            body: dict[str, object] = {"status": health,
                                       "components": [{"name": "core", "status": "healthy"}]}
        else:
            started = UPLOAD_START.match(path) if self.command == "POST" else None
            if started:
                status, headers = 202, self._upload_started(started.group(1))
            body = self._echo(received)
        self._send(status, headers, json.dumps(body).encode())

    def _upload_started(self, name: str) -> dict[str, str]:
        """A fresh upload's headers; the Location is absolute, built from the forwarded
        scheme and the Host, as harbor-twisted builds it."""
        upload = str(uuid.uuid4())
        scheme = self.headers.get("X-Forwarded-Proto", "https")
        base = f"{scheme}://{self.headers.get('Host', '')}"
        return {"Location": f"{base}/v2/{name}/blobs/uploads/{upload}",
                "Docker-Upload-UUID": upload}

    def _echo(self, received: int) -> dict[str, object]:
        return {"backend": HOST, "method": self.command, "path": self.path,
                "received": received, "host": self.headers.get("Host"),
                "x_forwarded_proto": self.headers.get("X-Forwarded-Proto"),
                "x_forwarded_for": self.headers.get("X-Forwarded-For"),
                "x_forwarded_host": self.headers.get("X-Forwarded-Host")}

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        self.send_header("X-Backend", HOST)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # http.server's names for the methods
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815


def main() -> None:
    port, certfile, keyfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = ThreadingHTTPServer(("", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
