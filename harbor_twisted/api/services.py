"""The services the endpoints ask, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from harbor_twisted.config import Config
from harbor_twisted.core.audit import AuditService
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.members import MemberService
from harbor_twisted.core.projects import ProjectService
from harbor_twisted.core.robots import RobotService
from harbor_twisted.core.sessions import SessionService
from harbor_twisted.core.users import UserService


@dataclass(frozen=True)
class Services:
    config: Config
    identity: IdentityService
    users: UserService
    projects: ProjectService
    members: MemberService
    audit: AuditService
    robots: RobotService
    sessions: SessionService

    @classmethod
    def create(cls, config: Config, identity: IdentityService) -> Services:
        return cls(
            config,
            identity,
            UserService(identity),
            ProjectService(identity),
            MemberService(identity),
            AuditService(identity.db),
            RobotService(identity),
            SessionService(identity, config),
        )
