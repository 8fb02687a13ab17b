"""The collection's compare step (plugins/module_utils/compare.py), alone: it imports
nothing from Ansible, so it is loaded from its file."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.collection.ansible_runner import COLLECTIONS

SOURCE = (COLLECTIONS / "ansible_collections/harbor_twisted/registry/plugins/module_utils"
          / "compare.py")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("harbor_compare", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _load()


def test_values_not_given_keep_what_exists() -> None:
    current = {"public": False, "storage_limit": 10}
    assert compare.target_view(current, {"public": None, "storage_limit": None}) == current


def test_creation_starts_from_the_defaults() -> None:
    after = compare.target_view(None, {"public": True, "speed": None},
                                {"public": False, "speed": -1})
    assert after == {"public": True, "speed": -1}


def test_a_given_dict_is_laid_over_key_by_key() -> None:
    current = {"metadata": {"auto_scan": "true", "severity": "low"}}
    after = compare.target_view(current, {"metadata": {"severity": "high"}})
    assert after == {"metadata": {"auto_scan": "true", "severity": "high"}}
    assert current["metadata"]["severity"] == "low"  # the current view is not touched


def test_a_given_list_replaces_the_whole_list() -> None:
    current = {"filters": [{"type": "name", "value": "a"}, {"type": "tag", "value": "b"}]}
    after = compare.target_view(current, {"filters": [{"type": "name", "value": "a"}]})
    assert after["filters"] == [{"type": "name", "value": "a"}]


def test_changed_keys_names_only_the_differing_fields() -> None:
    before = {"a": 1, "b": [1, 2], "c": {"x": "1"}}
    after = {"a": 1, "b": [2, 1], "c": {"x": "1"}, "d": None}
    assert compare.changed_keys(before, after) == ["b", "d"]
    assert compare.changed_keys(before, dict(before)) == []


def test_diff_masks_write_only_values_and_keeps_empty_ones() -> None:
    diff = compare.diff_of({"access_key": "k"}, {"access_key": "k", "access_secret": "s3cr3t"},
                           secrets=("access_secret",))
    assert diff["after"]["access_secret"] == compare.HIDDEN
    assert "s3cr3t" not in repr(diff)
    assert compare.diff_of(None, {"access_secret": ""}, ("access_secret",))["before"] == {}


def test_secret_is_sent_on_creation_and_on_update_only_when_always() -> None:
    assert compare.secret_update("s", exists=False, update_secret="on_create")
    assert not compare.secret_update("s", exists=True, update_secret="on_create")
    assert compare.secret_update("s", exists=True, update_secret="always")
    assert not compare.secret_update(None, exists=True, update_secret="always")


def test_cron_expressions_compare_with_single_spaces() -> None:
    assert compare.normalize_cron(" 0  0 2 * * * ") == "0 0 2 * * *"
    assert compare.normalize_cron(None) == ""
