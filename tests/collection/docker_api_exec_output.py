"""Run by the Ansible venv's Python: how many of N quick execs lose their output.

Usage: docker_api_exec_output.py CONTAINER N plain|patched

The response headers are read late, as a loaded controller does: only once the exec's first
output frame has arrived behind them, so it lands in http.client's buffered reader.
Prints the number of execs whose ``echo`` output came back wrong.
"""

from __future__ import annotations

import http.client
import socket
import sys
import time
from pathlib import Path
from typing import Any

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = Path(__file__).resolve().parents[2]


def main(container: str, count: int, mode: str) -> int:
    site_packages = [path for path in sys.path if path.endswith("site-packages")]
    _AnsibleCollectionFinder(paths=site_packages)._install()
    if mode == "patched":
        sys.path.insert(0, str(ROOT / "molecule" / "resources" / "callback_plugins"))
        __import__("docker_api_output")  # patches the client at import, as Ansible loads it
    from ansible_collections.community.docker.plugins.module_utils._api.api.client import (
        APIClient,
    )

    begin = http.client.HTTPResponse.begin

    def late_begin(self: Any) -> None:
        # Parse the headers only once the socket holds bytes past them: the exec's output.
        sock = self.fp.raw._sock
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen = sock.recv(65536, socket.MSG_PEEK)
            _head, end, rest = seen.partition(b"\r\n\r\n")
            if not seen or (end and rest):
                break
            time.sleep(0.01)
        begin(self)

    http.client.HTTPResponse.begin = late_begin  # type: ignore[method-assign]
    client = APIClient(base_url="unix:///var/run/docker.sock")
    wrong = 0
    for number in range(count):
        created = client.post_json_to_json(
            "/containers/{0}/exec", container,
            data={"AttachStdout": True, "AttachStderr": True, "Cmd": ["echo", f"line {number}"]})
        stdout, _stderr = client.post_json_to_stream(
            "/exec/{0}/start", created["Id"], stream=False, demux=True, tty=False,
            data={"Tty": False, "Detach": False})
        if (stdout or b"").strip() != f"line {number}".encode():
            wrong += 1
    print(wrong)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
