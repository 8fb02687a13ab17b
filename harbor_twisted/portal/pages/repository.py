"""A repository's artifacts (tags, digest, size, push and pull times, accessories under their
subject as Harbor lists them; filter by tag) and one artifact's detail page, with adding and
deleting tags and deleting the artifact — each deletion confirmed on a page of its own, so
it works without JavaScript."""

from __future__ import annotations

from dataclasses import replace

from harbor_twisted.core.artifacts import ArtifactView
from harbor_twisted.core.errors import Forbidden
from harbor_twisted.portal.pages import paging, urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import changed
from harbor_twisted.portal.pages.project import project_values


def _names(ctx: PageContext) -> tuple[str, str]:
    return ctx.params["project"], ctx.params["repository"]


def _path(ctx: PageContext) -> tuple[str, str, str]:
    return ctx.params["project"], ctx.params["repository"], ctx.params["digest"]


ACCESSORY_KINDS = (
    ("cosign", "Signature (cosign)"),
    ("notary", "Signature (Notation)"),
    ("spdx", "SBOM (SPDX)"),
    ("cyclonedx", "SBOM (CycloneDX)"),
    ("sbom", "SBOM"),
    ("sig", "Signature"),
)


def accessory_kind(artifact_type: str) -> str:
    """What a referrer is, in the words Harbor's portal uses, from its artifact type."""
    lowered = artifact_type.lower()
    return next((label for key, label in ACCESSORY_KINDS if key in lowered),
                artifact_type or "Accessory")


def pull_command(ctx: PageContext, view: ArtifactView) -> str:
    return f"docker pull {ctx.registry_host}/{view.repository_name}@{view.record.digest}"


async def artifacts(ctx: PageContext) -> Page:
    project, repository = _names(ctx)
    values = await project_values(ctx, "repositories")
    tag = ctx.arg("tag")
    page = ctx.page_number()
    sort_key, state, listing = paging.artifact_listing(page, tag, ctx.arg("sort"),
                                                       ctx.arg("show"))
    filtered = bool(listing.filters)  # else the list's total is the repository's count
    record = await ctx.services.repositories.get(ctx.principal, project, repository,
                                                 counted=filtered)
    views, total = await ctx.services.artifacts.list(ctx.principal, project, repository,
                                                     listing, with_accessories=True)
    if not filtered:
        record = replace(record, artifact_count=total)
    return Page("repository.html", {
        **values, "repository": record, "repository_name": repository, "artifacts": views,
        "pager": paging.Pager(page, total), "tag": tag, "sort": sort_key, "show": state,
        "sorts": {key: label for key, (_, label) in paging.ARTIFACT_SORTS.items()},
        "tag_states": paging.TAG_STATES, "accessory_kind": accessory_kind,
        "pull_tag": f"docker pull {ctx.registry_host}/{record.name}:TAG",
    }, title=f"Repository {record.name}")


async def artifact(ctx: PageContext) -> Page:
    repository = ctx.params["repository"]
    values = await project_values(ctx, "repositories")
    view = await ctx.services.artifacts.get(ctx.principal, _path(ctx))
    accessories = await ctx.services.artifacts.accessories(ctx.principal, _path(ctx))
    return Page("artifact.html", {
        **values, "artifact": view, "repository_name": repository,
        "accessories": [(d, accessory_kind(d.get("artifactType", ""))) for d in accessories],
        "pull_command": pull_command(ctx, view),
    }, title=f"{view.repository_name}@{view.record.digest[:19]}")


def _back(ctx: PageContext) -> str:
    project, repository = _names(ctx)
    return urls.artifact(project, repository, ctx.params["digest"])


async def add_tag(ctx: PageContext) -> Redirect:
    name = ctx.field("tag")
    return await changed(ctx.services.artifacts.create_tag(ctx.actor, _path(ctx), name),
                         _back(ctx), f"Tag {name} added.")


async def _require(ctx: PageContext, ability: str, refusal: str) -> dict[str, object]:
    values = await project_values(ctx, "repositories")
    if not values["can"][ability]:  # type: ignore[index]
        raise Forbidden(refusal)
    return values


async def confirm_delete_tag(ctx: PageContext) -> Page:
    await _require(ctx, "delete_tag", "your role in this project may not delete tags")
    project, repository = _names(ctx)
    return confirmation(
        f"Delete the tag {ctx.params['tag']} of {project}/{repository}? "
        "The artifact stays.",
        "Delete tag", _back(ctx))


async def delete_tag(ctx: PageContext) -> Redirect:
    tag = ctx.params["tag"]
    return await changed(ctx.services.artifacts.delete_tag(ctx.actor, _path(ctx), tag),
                         _back(ctx), f"Tag {tag} deleted.")


async def confirm_delete_artifact(ctx: PageContext) -> Page:
    await _require(ctx, "delete_artifact", "your role in this project may not delete artifacts")
    project, repository = _names(ctx)
    return confirmation(
        f"Delete the artifact {ctx.params['digest']} of {project}/{repository} "
        "with all its tags?",
        "Delete artifact", _back(ctx))


async def delete_artifact(ctx: PageContext) -> Redirect:
    project, repository = _names(ctx)
    return await changed(ctx.services.artifacts.delete(ctx.actor, _path(ctx)),
                         urls.repository(project, repository), "Artifact deleted.",
                         back=_back(ctx))


async def describe(ctx: PageContext) -> Redirect:
    project, repository = _names(ctx)
    back = urls.repository(project, repository)
    return await changed(
        ctx.services.repositories.update(ctx.actor, project, repository,
                                         ctx.field("description")),
        back, "Description saved.")


async def confirm_delete_repository(ctx: PageContext) -> Page:
    await _require(ctx, "delete_repository",
                   "your role in this project may not delete repositories")
    project, repository = _names(ctx)
    return confirmation(
        f"Delete the repository {project}/{repository} with all its artifacts "
        "and tags?",
        "Delete repository", urls.repository(project, repository))


async def delete_repository(ctx: PageContext) -> Redirect:
    project, repository = _names(ctx)
    return await changed(ctx.services.repositories.delete(ctx.actor, project, repository),
                         urls.project(project), f"Repository {project}/{repository} deleted.",
                         back=urls.repository(project, repository))
