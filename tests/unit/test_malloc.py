"""Password checks in many threads leave no 19 MiB block resident per thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, threading
    from harbor_twisted.auth import passwords
    from harbor_twisted.common.malloc import return_large_allocations

    def anon_mib():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024

    if sys.argv[1] == "fixed":
        assert return_large_allocations()
    hashed = passwords.hash_password("Secret-12345")
    before = anon_mib()
    for _ in range(4):
        thread = threading.Thread(target=passwords.verify_password, args=(hashed, "Secret-12345"))
        thread.start()
        thread.join()
    print(anon_mib() - before)
""")


def _growth(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                          check=True, timeout=120)
    return float(done.stdout.strip())


def test_a_fixed_mmap_threshold_returns_password_check_memory():
    assert _growth("default") > 15  # the problem exists: a thread keeps its 19 MiB
    assert _growth("fixed") < 5
