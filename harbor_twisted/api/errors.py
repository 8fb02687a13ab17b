"""Harbor's error body ``{"errors":[{"code","message"}]}`` and the status of each code."""

from __future__ import annotations

from harbor_twisted.core import errors as core

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    412: "PRECONDITION",
    413: "BAD_REQUEST",
    500: "INTERNAL_SERVER_ERROR",
}

_SERVICE_STATUS: dict[type[core.ServiceError], int] = {
    core.Invalid: 400,
    core.Unauthenticated: 401,
    core.Forbidden: 403,
    core.NotFound: 404,
    core.Conflict: 409,
    core.PreconditionFailed: 412,
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = CODES.get(status, "UNKNOWN")
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def from_service_error(error: core.ServiceError) -> ApiError:
    for kind, status in _SERVICE_STATUS.items():
        if isinstance(error, kind):
            return ApiError(status, error.message)
    return ApiError(500, "internal error")


def error_document(code: str, message: str) -> dict[str, list[dict[str, str]]]:
    return {"errors": [{"code": code, "message": message}]}
