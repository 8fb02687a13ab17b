"""The projects list's quota column (used / limit) and the repository page's artifact order
(push time, size) and tag state (tagged, untagged), checked against the REST API's own order — on
SQLite and PostgreSQL."""

from __future__ import annotations

import re

from tests.portal.browser_session import PageClient
from tests.rest.conftest import Client, create_project

DIGEST_LINK = re.compile(r'<a class="digest" href="[^"]*/-/artifacts/(sha256:[0-9a-f]{64})"')


def _quota_cell(page: str, project: str) -> str:
    row = page.split(f">{project}</a>")[1].split("</tr>")[0]
    found = re.search(r'<td class="quota">([^<]*)</td>', row)
    assert found is not None, row
    return found.group(1)


def test_projects_list_shows_storage_used_and_limit(registry, admin_pages: PageClient) -> None:
    from tests.support.oci import push_image

    admin = Client(registry.url, ("admin", registry.admin_password))
    open_ended = create_project(admin)
    push_image(registry.url, f"{open_ended}/app", tag="v1", seed="quota-column")
    limited = create_project(admin)
    project_id = admin.get(f"/projects/{limited}").json()["project_id"]
    limit = admin.get(f"/quotas?reference_id={project_id}").json()[0]
    assert admin.put(f"/quotas/{limit['id']}",
                     json={"hard": {"storage": 2 * 1024**3}}).status_code == 200
    page = admin_pages.get("/harbor/projects?name=" + open_ended[:-2]).text
    used, cap = _quota_cell(page, open_ended).split(" / ")
    assert cap == "no limit" and used != "0 B" and used.endswith("KiB")
    assert _quota_cell(admin_pages.get(f"/harbor/projects?name={limited}").text,
                       limited) == "0 B / 2.00 GiB"


def test_repository_page_sorts_and_filters_artifacts_as_the_api_does(
        registry, admin_pages: PageClient) -> None:
    from tests.support.oci import push_image

    admin = Client(registry.url, ("admin", registry.admin_password))
    project = create_project(admin)
    for tag in ("first", "second", "third"):
        push_image(registry.url, f"{project}/app", tag=tag, seed=tag)
    untagged = push_image(registry.url, f"{project}/app", tag=None, seed="u" * 6)
    page = f"/harbor/projects/{project}/repositories/app"
    api = f"/projects/{project}/repositories/app/artifacts"
    orders = {}
    sizes = {}
    for sort in ("-push_time", "push_time", "size", "-size"):
        shown = DIGEST_LINK.findall(admin_pages.get(f"{page}?sort={sort}").text)
        listed = admin.get(api, params={"sort": sort}).json()
        assert shown == [a["digest"] for a in listed] and len(shown) == 4, sort
        orders[sort] = shown
        sizes[sort] = [a["size"] for a in listed]
    assert orders["push_time"] == orders["-push_time"][::-1]
    assert sizes["size"] == sorted(sizes["size"]) and len(set(sizes["size"])) > 1
    assert sizes["-size"] == sorted(sizes["size"], reverse=True)
    assert orders["-push_time"][0] == untagged.digest  # pushed last
    only_untagged = admin_pages.get(f"{page}?show=untagged&sort=push_time").text
    assert DIGEST_LINK.findall(only_untagged) == [untagged.digest]
    assert f'href="{page}?' not in only_untagged or "show=untagged" in only_untagged
    tagged = DIGEST_LINK.findall(admin_pages.get(f"{page}?show=tagged").text)
    assert len(tagged) == 3 and untagged.digest not in tagged
    # an unknown order or state reads as the default, never an error
    assert admin_pages.get(f"{page}?sort=bogus&show=bogus").status_code == 200
