"""``webhook``: POST one event's payload to one target of a policy.

Runs in a job worker thread, so a blocking ``requests`` call is fine here. Anything but a
2xx answer, or no answer within the timeout, fails the attempt: the job service retries it
with its backoff up to ``job_retry_limit`` times. Every attempt and the answer's status go
to the task's log; the auth header (read from the secrets directory at each attempt) never
does, and addresses cannot hold credentials.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from harbor_twisted.common import webhook_secrets as secrets
from harbor_twisted.common.outbound_tls import describe_tls_failure, outbound_session
from harbor_twisted.db import webhook_store
from harbor_twisted.jobs.context import JobContext
from harbor_twisted.webhooks import payloads

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
USER_AGENT = "harbor-twisted-webhook"


class DeliveryFailed(Exception):
    """The target did not take the event (the message names no secret)."""


class AuthHeader(requests.auth.AuthBase):
    """The target's header as ``Authorization``: given as ``auth``, it wins over
    ~/.netrc, as the header would in Harbor."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.value
        return request


def run_webhook(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    policy = ctx.db.run_sync(webhook_store.get_policy, int(params["policy_id"]))
    index = int(params.get("target", 0))
    if policy is None or index >= len(policy.targets):
        ctx.log("the policy or its target no longer exists: nothing to deliver")
        return {"delivered": False}
    target = policy.targets[index]
    body, content_type = payloads.render(target, params["payload"], int(params["project_id"]),
                                         policy.id)
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
    header = secrets.load(ctx.config, policy.id, index) if target.has_auth_header else ""
    address = target.address  # never holds credentials (policies.check_address)
    ctx.check_stop()
    ctx.log(f"attempt {ctx.attempt}: POST {params['event_type']} to {address} "
            f"({target.type}, {target.payload_format}, {len(body)} bytes"
            f"{', TLS not verified' if target.skip_cert_verify else ''})")
    started = time.monotonic()
    session = outbound_session(verify=not target.skip_cert_verify,
                               trusted_ca_file=ctx.config.trusted_ca_file)
    try:
        response = session.post(target.address, data=body, headers=headers,
                                auth=AuthHeader(header) if header else None,
                                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                allow_redirects=False, stream=True)
        response.close()
    except requests.RequestException as error:
        reason = describe_tls_failure(error) or type(error).__name__
        ctx.log(f"attempt {ctx.attempt}: no answer: {reason}")
        raise DeliveryFailed(f"{address} did not answer ({reason})") from None
    finally:
        session.close()
    elapsed = (time.monotonic() - started) * 1000
    ctx.log(f"attempt {ctx.attempt}: {address} answered {response.status_code} in "
            f"{elapsed:.0f} ms")
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{address} answered {response.status_code}")
    return {"delivered": True, "status_code": response.status_code}
