"""Offline stand-in for the get-pip script that ``ansible-test --venv`` downloads from
ci-files.testing.ansible.com (unreachable from our machines).

ansible-test runs it inside a fresh virtualenv that has no pip, with pip's arguments
(``--disable-pip-version-check pip==X [--no-setuptools] [--no-wheel]``): install the pip
bundled with this Python (``ensurepip``, no network), then let that pip install the asked
version with the machine's pip configuration (index, certificates). ensurepip runs in a
process of its own: in-process it sets PIP_CONFIG_FILE=/dev/null for whatever follows.
"""

import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")  # get-pip options, not pip's


def main() -> int:
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"],
                          stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    sys.exit(main())
