"""The Molecule scenarios' Docker API connection keeps every exec's output.

community.docker's client reads an exec's output from the raw socket under the HTTP
response's buffered reader; output that arrived with the headers was lost, and a loaded CI
machine failed random tasks ("failed to resolve remote temporary directory ... returned
empty string"). molecule/resources/callback_plugins/docker_api_output.py patches it. Both
sides are checked against a real daemon: without the patch late-read headers lose output
(so the check can see the bug), with it none is lost.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collection.ansible_runner import ansible_tool

SCRIPT = Path(__file__).with_name("docker_api_exec_output.py")
IMAGE = "harbor-twisted/debian-systemd:bookworm"
EXECS = 8


@pytest.fixture(scope="module")
def container() -> Iterator[str]:
    name = f"ht-exec-output-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--entrypoint", "sleep",
                    IMAGE, "600"], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def wrong_outputs(container: str, mode: str) -> int:
    python = ansible_tool("python")
    done = subprocess.run([str(python), str(SCRIPT), container, str(EXECS), mode],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_without_the_patch_late_headers_lose_output(container: str) -> None:
    # If this fails, community.docker reads through the buffer now: the patch can go.
    assert wrong_outputs(container, "plain") > 0


def test_with_the_patch_no_output_is_lost(container: str) -> None:
    assert wrong_outputs(container, "patched") == 0
