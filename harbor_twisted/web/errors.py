"""Harbor's error body ``{"errors":[{"code","message"}]}``, the status of each code, and
the answer the API and the portal give for an error."""

from __future__ import annotations

import json

from harbor_twisted.core import errors as core
from harbor_twisted.web.http import Response

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
    503: "SERVICE_UNAVAILABLE",
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


def json_response(status: int, body: object, headers: dict[str, str] | None = None
                  ) -> Response:
    """A JSON answer (an empty one when ``body`` is None)."""
    answer = Response(status, dict(headers or {}))
    if body is not None:
        answer.body = json.dumps(body).encode()
        answer.headers["Content-Type"] = "application/json"
    return answer


def harbor_error_response(error: Exception) -> Response | None:
    """Harbor's error answer for an ApiError or a ServiceError; None for anything else."""
    if isinstance(error, core.ServiceError):
        error = from_service_error(error)
    if not isinstance(error, ApiError):
        return None
    return json_response(error.status, error_document(error.code, error.message), error.headers)


def harbor_internal_error() -> Response:
    return json_response(500, error_document("INTERNAL_SERVER_ERROR", "internal error"))


def harbor_unavailable() -> Response:
    return json_response(503, error_document("SERVICE_UNAVAILABLE",
                                             "the database is unavailable; retry later"))
