"""The core services the portal's pages ask, built once per process from the identity
service (the same rules the REST API applies)."""

from __future__ import annotations

from dataclasses import dataclass

from harbor_twisted.config import Config
from harbor_twisted.core.artifacts import ArtifactService
from harbor_twisted.core.audit import AuditService
from harbor_twisted.core.configurations import ConfigurationService
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.immutability import ImmutabilityService
from harbor_twisted.core.ldap_admin import LdapService
from harbor_twisted.core.members import MemberService
from harbor_twisted.core.projects import ProjectService
from harbor_twisted.core.repositories import RepositoryService
from harbor_twisted.core.retention_control import RetentionControl
from harbor_twisted.core.robots import RobotService
from harbor_twisted.core.sessions import SessionService
from harbor_twisted.core.usergroups import UserGroupService
from harbor_twisted.core.users import UserService
from harbor_twisted.gc.control import GcControl
from harbor_twisted.replication.control import ReplicationControl
from harbor_twisted.storage.drivers import open_blob_store
from harbor_twisted.webhooks.control import WebhookControl


@dataclass(frozen=True)
class PortalServices:
    config: Config
    identity: IdentityService
    sessions: SessionService
    projects: ProjectService
    members: MemberService
    repositories: RepositoryService
    artifacts: ArtifactService
    users: UserService
    audit: AuditService
    gc: GcControl
    robots: RobotService
    configurations: ConfigurationService
    groups: UserGroupService
    immutability: ImmutabilityService
    webhooks: WebhookControl
    replication: ReplicationControl
    ldap: LdapService
    retention: RetentionControl

    @classmethod
    def create(cls, config: Config, identity: IdentityService,
               sessions: SessionService) -> PortalServices:
        return cls(
            config,
            identity,
            sessions,
            ProjectService(identity),
            MemberService(identity),
            RepositoryService(identity.db),
            # config blobs are read where the registry stores them (the same data directory)
            ArtifactService(identity.db, open_blob_store(config)),
            UserService(identity),
            AuditService(identity.db),
            GcControl(identity.db, config),
            RobotService(identity),
            ConfigurationService(identity),
            UserGroupService(identity),
            ImmutabilityService(identity.db),
            WebhookControl(identity.db, config),
            ReplicationControl(identity.db, config),
            LdapService(identity),
            RetentionControl(identity.db, config),
        )
