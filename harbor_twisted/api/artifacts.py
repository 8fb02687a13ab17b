"""``/projects/{p}/repositories/{r}/artifacts``: artifacts and their tags.

``with_tag`` (default true), ``with_label`` and ``with_accessory`` (each artifact's
signatures and SBOMs: the artifacts whose ``subject`` it is) shape the answer;
``with_scan_overview``, ``with_signature`` and ``with_immutable_status`` are accepted and
have nothing to add yet.
"""

from __future__ import annotations

from harbor_twisted.api.artifact_shapes import artifact, tag
from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import listing_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.artifacts import ArtifactService
from harbor_twisted.storage.drivers import open_blob_store

ARTIFACTS = "/projects/{project}/repositories/{repository}/artifacts"
ARTIFACT = ARTIFACTS + "/{reference}"


def _path(call: Call) -> tuple[str, str, str]:
    return call.params["project"], call.params["repository"], call.params["reference"]


def _with_tag(call: Call) -> bool:
    value = call.bool_arg("with_tag")
    return True if value is None else value


class ArtifactsApi:
    def __init__(self, services: Services) -> None:
        # Config blobs are read where the registry stores them (the same data directory).
        self.artifacts = ArtifactService(services.identity.db,
                                         open_blob_store(services.config))

    def register(self, router: Router) -> None:
        twice = ("repository",)
        router.add(ARTIFACTS, twice=twice, GET=self.list)
        router.add(ARTIFACT, twice=twice, GET=self.get, DELETE=self.delete)
        router.add(ARTIFACT + "/tags", twice=twice, GET=self.list_tags, POST=self.create_tag)
        router.add(ARTIFACT + "/tags/{tag}", twice=twice, DELETE=self.delete_tag)

    async def list(self, call: Call) -> Reply:
        listing = listing_of(call)
        with_label = bool(call.bool_arg("with_label"))
        call.bool_arg("with_scan_overview")  # validated; no scanner yet
        views, total = await self.artifacts.list(
            call.principal, call.params["project"], call.params["repository"], listing,
            _with_tag(call), bool(call.bool_arg("with_accessory")))
        return paged(call, [artifact(v, with_label) for v in views], total, listing.page,
                     listing.page_size)

    async def get(self, call: Call) -> Reply:
        with_label = bool(call.bool_arg("with_label"))
        view = await self.artifacts.get(call.principal, _path(call), _with_tag(call))
        return Reply(body=artifact(view, with_label))

    async def delete(self, call: Call) -> Reply:
        await self.artifacts.delete(call.actor, _path(call))
        return Reply()

    async def list_tags(self, call: Call) -> Reply:
        listing = listing_of(call)
        views, total = await self.artifacts.list_tags(call.principal, _path(call), listing)
        return paged(call, [tag(v) for v in views], total, listing.page, listing.page_size)

    async def create_tag(self, call: Call) -> Reply:
        name = call.body().string("name", required=True) or ""
        await self.artifacts.create_tag(call.actor, _path(call), name)
        return Reply(201)

    async def delete_tag(self, call: Call) -> Reply:
        await self.artifacts.delete_tag(call.actor, _path(call), call.params["tag"])
        return Reply()
