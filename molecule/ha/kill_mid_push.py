#!/usr/bin/env python3
"""Push an image through the load balancer and kill the registry host receiving it (test fixture).

    kill_mid_push.py LB_CONTAINER PREFIX ATTEMPTS -- SKOPEO_COPY_ARGS...

Runs ``skopeo copy`` with the given arguments and watches HAProxy's streams (``show sess``
on lb1's admin socket, through ``docker exec``; its byte counters only move when a stream
ends): a stream to a registry host that is a second old or more is the big layer's upload
(every other request lasts milliseconds), and that host's container (PREFIX + server name)
is killed with ``docker kill``. A failed push is repeated, as a client
retries, up to ATTEMPTS times. Prints one JSON object: the killed host, the attempts and
their exit codes; exits 0 when a push succeeded after the kill.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

SESSIONS = (
    "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock');"
    "s.sendall(b'show sess\\n'); print(s.makefile().read())"
)
# a stream to a server, at least a second old: "srv=registry2 ... age=1s" (or "age=1m3s")
LONG_STREAM = re.compile(r"\bsrv=(registry\w*) .*?\bage=(?!0s)\S+")


def long_stream_server(lb_container: str) -> str | None:
    """The registry host receiving a stream that has lasted a second or more, if any."""
    out = subprocess.run(["docker", "exec", lb_container, "python3", "-c", SESSIONS],
                         check=True, capture_output=True, text=True).stdout
    match = LONG_STREAM.search(out)
    return match.group(1) if match else None


def main() -> int:
    lb_container, prefix, attempts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    copy = ["skopeo", "copy", *sys.argv[sys.argv.index("--") + 1:]]
    push = subprocess.Popen(copy, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = None
    while push.poll() is None and killed is None:
        killed = long_stream_server(lb_container)
        if killed:
            subprocess.run(["docker", "kill", prefix + killed], check=True, capture_output=True)
        time.sleep(0.2)
    _, stderr = push.communicate()
    codes = [push.returncode]
    errors = [stderr.strip()[-300:]]
    while codes[-1] != 0 and len(codes) < attempts:
        time.sleep(2)
        retry = subprocess.run(copy, capture_output=True, text=True)
        codes.append(retry.returncode)
        errors.append(retry.stderr.strip()[-300:])
    print(json.dumps({"killed": killed, "exit_codes": codes, "errors": errors}))
    return 0 if killed and codes[-1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
