"""Assembles the REST API: services, routes and the twisted resource mounted at ``/api``."""

from __future__ import annotations

from harbor_twisted.api import openapi, system
from harbor_twisted.api.artifacts import ArtifactsApi
from harbor_twisted.api.audit_logs import AuditLogsApi
from harbor_twisted.api.configurations import ConfigurationsApi
from harbor_twisted.api.gc import GcApi
from harbor_twisted.api.immutable import ImmutableApi
from harbor_twisted.api.ldap import LdapApi
from harbor_twisted.api.members import MembersApi
from harbor_twisted.api.metadata import MetadataApi
from harbor_twisted.api.projects import ProjectsApi
from harbor_twisted.api.quotas import QuotasApi
from harbor_twisted.api.registries import RegistriesApi
from harbor_twisted.api.replication import ReplicationApi
from harbor_twisted.api.repositories import RepositoriesApi
from harbor_twisted.api.resource import ApiResource
from harbor_twisted.api.retention import RetentionApi
from harbor_twisted.api.robots import RobotsApi
from harbor_twisted.api.routing import Router
from harbor_twisted.api.search import SearchApi
from harbor_twisted.api.services import Services
from harbor_twisted.api.usergroups import UserGroupsApi
from harbor_twisted.api.users import UsersApi
from harbor_twisted.api.webhooks import WebhooksApi
from harbor_twisted.config import Config
from harbor_twisted.core.identity import IdentityService

PREFIX = "/api/v2.0"


def build_api(config: Config, identity: IdentityService) -> ApiResource:
    services = Services.create(config, identity)
    router = Router(PREFIX)
    system.register(router, services)
    openapi.register(router)
    for api in (UsersApi, ProjectsApi, MetadataApi, MembersApi, AuditLogsApi, RobotsApi,
                ConfigurationsApi, UserGroupsApi):
        api(services).register(router)
    LdapApi(services).register(router)
    for area in (RepositoriesApi, ArtifactsApi, SearchApi):
        area(services).register(router)
    GcApi(services).register(router)
    for replication_api in (RegistriesApi, ReplicationApi):
        replication_api(services).register(router)
    for policy_api in (QuotasApi, ImmutableApi, RetentionApi, WebhooksApi):
        policy_api(services).register(router)
    return ApiResource(router, identity, config, services.sessions)
