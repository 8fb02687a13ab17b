"""Keep the first bytes of a command's output on the Docker API connection.

community.docker's ``docker_api`` connection (its vendored copy of docker-py) reads an exec's
output from the raw socket under the HTTP response's buffered reader. When the daemon's first
output frame arrives together with the response headers, the reader has already buffered it
and the raw socket never sees it: the command's output comes back empty (docker-py issues
#2042 and #3332, community.docker #644). On a loaded machine this fails a random task with
"failed to resolve remote temporary directory ... returned empty string".

This callback is never enabled for its output: Ansible loads every callback in its path that
does not need enabling, in the controller before it forks its workers, so importing it
patches the client once for the whole run. The patch hands the frame reader a socket that
gives out what the buffered reader holds before reading the socket again.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: docker_api_output
type: aggregate
short_description: keeps exec output that arrives with the Docker API's response headers
description:
  - Patches community.docker's API client so no exec output is lost (test harness only).
"""


class _BufferedFirst:
    """The part of a socket the frame reader uses, reading through the response's buffer."""

    def __init__(self, reader: Any, sock: Any) -> None:
        self._reader = reader
        self._sock = sock

    def recv(self, size: int) -> bytes:
        # read1 answers from the buffer when it holds data, else makes one read of the socket
        return self._reader.read1(size)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _patch() -> None:
    try:
        from ansible_collections.community.docker.plugins.module_utils._api.api.client import (
            APIClient,
        )
    except ImportError:  # community.docker absent: nothing to patch
        return
    if getattr(APIClient, "_harbor_twisted_buffered_first", False):
        return
    original = APIClient._read_from_socket

    def read_from_socket(self: Any, response: Any, stream: bool, tty: bool = True,
                         demux: bool = False) -> Any:
        get_socket = self._get_raw_response_socket
        reader = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
        if reader is None or not hasattr(reader, "read1"):
            return original(self, response, stream, tty=tty, demux=demux)
        self._get_raw_response_socket = lambda answer: _BufferedFirst(reader, get_socket(answer))
        try:
            return original(self, response, stream, tty=tty, demux=demux)
        finally:
            del self._get_raw_response_socket

    APIClient._read_from_socket = read_from_socket
    APIClient._harbor_twisted_buffered_first = True


_patch()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "docker_api_output"
    CALLBACK_NEEDS_ENABLED = False
