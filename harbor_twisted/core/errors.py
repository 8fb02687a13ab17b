"""What the rules refuse, by kind; the REST API maps each kind to Harbor's status and code."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused request; the message is meant for the client and never holds a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ServiceError):
    """The request is malformed or breaks a rule about values (400)."""


class Unauthenticated(ServiceError):
    """The request needs credentials (401)."""


class DirectoryUnreachable(Unauthenticated):
    """The LDAP directory did not answer: the login fails, and says why (401)."""


class Forbidden(ServiceError):
    """The caller is known but may not do this (403)."""


class NotFound(ServiceError):
    """The thing named does not exist (404)."""


class Conflict(ServiceError):
    """The change collides with something that exists (409)."""


class PreconditionFailed(ServiceError):
    """The thing exists but is not in a state that allows the change (412)."""
