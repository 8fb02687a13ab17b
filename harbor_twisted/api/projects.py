"""``/projects``: list, existence, create, read, update, delete, summary, project logs."""

from __future__ import annotations

from harbor_twisted.api.call import Call, Fields, Reply
from harbor_twisted.api.listing import listing_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import audit_log, project
from harbor_twisted.core.projects import METADATA_KEYS, ProjectRef
from harbor_twisted.core.quotas import check_limit
from harbor_twisted.db.listing import Filter
from harbor_twisted.web.errors import bad_request


def _metadata(body: Fields) -> dict[str, str]:
    """``ProjectReq.metadata`` (known keys; others are ignored, as Harbor does) and the
    deprecated top-level ``public``."""
    values: dict[str, str] = {}
    public = body.boolean("public")
    if public is not None:
        values["public"] = "true" if public else "false"
    metadata = body.object("metadata")
    if metadata is not None:
        for key in METADATA_KEYS:
            if metadata.has(key):
                values[key] = metadata.data[key]
    return values


class ProjectsApi:
    def __init__(self, services: Services) -> None:
        self.projects = services.projects

    def register(self, router: Router) -> None:
        router.add("/projects", GET=self.list, HEAD=self.head, POST=self.create)
        router.add("/projects/{project}", GET=self.get, PUT=self.update, DELETE=self.delete)
        router.add("/projects/{project}/summary", GET=self.summary)
        router.add("/projects/{project}/_deletable", GET=self.deletable)
        router.add("/projects/{project}/logs", GET=self.logs)

    async def list(self, call: Call) -> Reply:
        extra = []
        if name := call.arg("name"):
            extra.append(Filter("name", "fuzzy", (name,)))
        if owner := call.arg("owner"):
            extra.append(Filter("owner", "exact", (owner,)))
        public = call.bool_arg("public")
        if public is not None:
            extra.append(Filter("public", "exact", ("true" if public else "false",)))
        listing = listing_of(call, extra)
        views, total = await self.projects.list(call.principal, listing)
        return paged(call, [project(v) for v in views], total, listing.page, listing.page_size)

    async def head(self, call: Call) -> Reply:
        name = call.arg("project_name")
        if not name:
            raise bad_request("project_name is required")
        found = await self.projects.exists(call.principal, name)
        return Reply(200 if found else 404)

    async def create(self, call: Call) -> Reply:
        body = call.body()
        name = body.string("project_name", required=True) or ""
        registry_id = body.integer("registry_id")
        if registry_id:
            raise bad_request("proxy cache projects (registry_id) are not supported")
        storage_limit = body.integer("storage_limit")
        if storage_limit is None or storage_limit == 0:
            storage_limit = -1  # Harbor's clients send 0 or nothing for "no limit set"
        project_id = await self.projects.create(
            call.actor, name, _metadata(body), check_limit(storage_limit, "storage_limit"))
        tail = name if call.header_flag("X-Resource-Name-In-Location") else str(project_id)
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{tail}"})

    async def get(self, call: Call) -> Reply:
        view = await self.projects.get(call.principal, call.project_ref())
        return Reply(body=project(view))

    async def update(self, call: Call) -> Reply:
        metadata = _metadata(call.body())
        await self.projects.update(call.actor, call.project_ref(), metadata)
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.projects.delete(call.actor, call.project_ref())
        return Reply()

    async def summary(self, call: Call) -> Reply:
        return Reply(body=await self.projects.summary(call.principal, call.project_ref()))

    async def deletable(self, call: Call) -> Reply:
        deletable, message = await self.projects.deletable(call.principal, call.project_ref())
        return Reply(body={"deletable": deletable, "message": message})

    async def logs(self, call: Call) -> Reply:
        listing = listing_of(call)
        ref = ProjectRef(call.params["project"], is_name=True)
        entries, total = await self.projects.logs(call.principal, ref, listing)
        return paged(call, [audit_log(e) for e in entries], total, listing.page,
                     listing.page_size)
