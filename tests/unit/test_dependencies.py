"""Every third-party module the package imports is a declared runtime dependency.

The test extra (requests, pytest, ...) is installed wherever the suite runs, so a runtime
import of a test-only package passes every other test and only fails in a deployed bundle.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# import name -> distribution name, where they differ
DISTRIBUTION = {"yaml": "pyyaml", "ldap": "python-ldap", "argon2": "argon2-cffi",
                "zope": "twisted"}  # zope.interface comes with Twisted


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "harbor_twisted").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = set()
    for requirement in project["dependencies"]:
        name = requirement.split(";")[0]
        for stop in "<>=![ ":
            name = name.split(stop)[0]
        declared.add(name.strip().lower())
    return declared


def test_runtime_imports_are_declared_dependencies():
    third_party = {name for name in _imported_top_levels()
                   if name not in sys.stdlib_module_names and name not in ("harbor_twisted",
                                                                           "__future__")}
    missing = sorted(name for name in third_party
                     if DISTRIBUTION.get(name, name).lower() not in _declared())
    assert missing == [], f"imported but not in [project] dependencies: {missing}"
