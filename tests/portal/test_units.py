"""The portal's pure parts: safe redirects, routes, paging and rendering faults."""

from __future__ import annotations

import pytest

from harbor_twisted.portal import routes
from harbor_twisted.portal.pages import urls
from harbor_twisted.portal.pages.context import Page
from harbor_twisted.portal.pages.paging import Pager
from harbor_twisted.portal.resource import _rendered


@pytest.mark.parametrize("text", ["", "x", "//evil", "https://evil", "/\\evil", "/a\nb",
                                  "javascript:x", None])
def test_unsafe_next_goes_home(text: str | None) -> None:
    assert urls.safe_next(text) == urls.HOME


def test_local_next_is_kept() -> None:
    assert urls.safe_next("/harbor/projects/a?page=2") == "/harbor/projects/a?page=2"


def test_repository_names_with_slashes_route_to_the_artifact_page() -> None:
    digest = "sha256:" + "a" * 64
    route, params, _ = routes.match(
        "GET", f"/projects/p/repositories/team/app/-/artifacts/{digest}")
    assert route is not None and route.handler.__name__ == "artifact"
    assert params == {"project": "p", "repository": "team/app", "digest": digest}
    route, params, _ = routes.match("GET", "/projects/p/repositories/team/app")
    assert route is not None and params["repository"] == "team/app"


def test_a_known_path_with_another_method_is_told_apart_from_an_unknown_one() -> None:
    assert routes.match("DELETE", "/projects") == (None, {}, True)
    assert routes.match("GET", "/nowhere") == (None, {}, False)


def test_pager_knows_a_page_beyond_the_end() -> None:
    assert Pager(3, 30).beyond_end and Pager(3, 30).pages == 2
    assert not Pager(1, 0).beyond_end and Pager(1, 0).next is None


def test_a_pager_whose_count_stopped_says_more_than_and_goes_one_page_on() -> None:
    stopped = Pager(667, 10_001, counted_up_to=10_000)
    assert stopped.more_than == 10_000 and stopped.pages == 667 and stopped.next == 668
    assert Pager(668, 10_001, counted_up_to=10_000).next is None
    assert not Pager(900, 10_001, counted_up_to=10_000).beyond_end
    exact = Pager(2, 10_000, counted_up_to=10_000)
    assert exact.more_than is None and exact.pages == 667 and Pager(668, 10_000).beyond_end


def test_a_template_fault_answers_the_error_page() -> None:
    status, body = _rendered(Page("no-such-template.html"), None)
    assert status == 500 and b"failed to show this page" in body
