"""How the registry answers errors that are not its own: a digest lock held past its wait
(another host committing that blob) is a 503 to retry, not an internal error."""

from __future__ import annotations

import json

from harbor_twisted.registry.resource import LOCK_RETRY_AFTER_SECONDS, RegistryResource
from harbor_twisted.storage.base import LockTimeout


def test_a_lock_held_too_long_is_unavailable_with_retry_after() -> None:
    resource = RegistryResource(app=None)  # type: ignore[arg-type]  # errors need no app
    response = resource.error_response(LockTimeout("sha256:ab stayed locked for 120 s"))
    assert response is not None and response.status == 503
    assert response.headers["Retry-After"] == str(LOCK_RETRY_AFTER_SECONDS)
    (error,) = json.loads(response.body)["errors"]
    assert error["code"] == "UNAVAILABLE" and "stayed locked" in error["message"]
    assert resource.error_response(ValueError("a bug")) is None  # still an internal error
