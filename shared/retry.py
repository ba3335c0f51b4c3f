"""Retries with exponential backoff and full jitter, inside an overall deadline, at every hop.

Two mechanisms, one policy (:class:`shared.settings.RetrySettings`):

* Google hops (STS, IAM Credentials, the metadata server, OAuth2) go through google-auth's
  injected transport; :class:`RetryingRequest` wraps it using tenacity.
* Azure hops (Entra token endpoint, managed identity) go through azure-core pipelines, which
  azure-identity builds from keyword arguments; :func:`azure_retry_kwargs` configures them
  with :class:`JitteredRetryPolicy` (azure-core's policy, whose backoff has no jitter).

Retried: :data:`shared.errors.RETRYABLE_STATUS` (408, 429, 500, 502, 503, 504), connection resets and
timeouts. Never retried: any other 4xx, because the same request cannot succeed a second time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

import tenacity
from azure.core.pipeline.policies import AsyncRetryPolicy, RetryPolicy
from google.auth import exceptions as google_exceptions
from google.auth import transport

from shared import tracing
from shared.errors import RETRYABLE_STATUS
from shared.redaction import package_logger
from shared.settings import RetrySettings

_log = package_logger("shared.retry")


def full_jitter_backoff(retry: int, initial_s: float, max_s: float) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): uniform in [0, min(max, initial * 2^(retry-1))]."""
    return random.uniform(0.0, min(max_s, initial_s * 2 ** max(0, retry - 1)))  # noqa: S311 - jitter, not crypto


def hop_of(url: str) -> str:
    """A short name for the hop a Google URL belongs to (for errors and logs)."""
    if ":generateAccessToken" in url or ":generateIdToken" in url:
        return "gcp.iam"
    if "computeMetadata" in url:
        return "gcp.metadata"
    if "/v1/token" in url or "sts." in url:
        return "gcp.sts"
    return "gcp.oauth2" if "token" in url else "google"


class RetryingRequest(transport.Request):
    """A google-auth transport request that retries transient failures until a deadline.

    One instance serves one refresh: the deadline starts when it is created. Wrapping a
    ``RetryingRequest`` again returns the same deadline (nested credentials share it).
    """

    def __init__(self, inner: Any, policy: RetrySettings) -> None:
        self.inner: Any = inner.inner if isinstance(inner, RetryingRequest) else inner
        self.policy = policy
        self.deadline: float = (
            inner.deadline if isinstance(inner, RetryingRequest) else time.monotonic() + policy.deadline_s
        )
        self.last_status: int | None = None  # of the last response seen, for error translation
        self.last_hop: str | None = None  # the hop of the last call, for errors without a URL
        self.last_retry_after_s: float | None = None  # its Retry-After, if any

    @classmethod
    def wrap(cls, inner: Any, policy: RetrySettings) -> RetryingRequest:
        """``inner`` if it already retries, else a new retrying wrapper around it."""
        return inner if isinstance(inner, RetryingRequest) else cls(inner, policy)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        policy = self.policy
        hop = self.last_hop = hop_of(url)

        def attempt() -> Any:
            remaining = self.remaining()
            if remaining <= 0:
                raise google_exceptions.TransportError(
                    f"{hop}: the retry deadline of {policy.deadline_s:g} s passed"
                )
            limit = min(timeout or policy.attempt_timeout_s, policy.attempt_timeout_s, remaining)
            self.last_status = None
            response = self.inner(url, method=method, body=body, headers=headers, timeout=limit, **kwargs)
            self.last_status = getattr(response, "status", None)
            self.last_retry_after_s = _retry_after(response) or None
            return response

        def wait(state: tenacity.RetryCallState) -> float:
            backoff = full_jitter_backoff(
                state.attempt_number, policy.initial_backoff_s, policy.max_backoff_s
            )
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                backoff = max(backoff, _retry_after(outcome.result()))
            return min(backoff, self.remaining())

        def log(state: tenacity.RetryCallState) -> None:
            outcome = state.outcome
            why = (
                type(outcome.exception()).__name__
                if outcome is not None and outcome.failed
                else f"HTTP {getattr(outcome.result() if outcome else None, 'status', '?')}"
            )
            sleep = state.next_action.sleep if state.next_action else 0.0
            _log.warning(
                "%s %s failed (%s); retry %d in %.2f s", method, hop, why, state.attempt_number, sleep
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.attempts) | _stop_at_deadline(self),
            wait=wait,
            retry=tenacity.retry_if_exception_type(google_exceptions.TransportError)
            | tenacity.retry_if_result(lambda response: getattr(response, "status", 0) in RETRYABLE_STATUS),
            before_sleep=log,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            reraise=True,
        )
        with tracing.hop(hop, url) as record:
            response = retrying(attempt)
            record.status = self.last_status
            if record.status is not None and record.status >= 400:
                record.outcome = "unavailable" if record.status in RETRYABLE_STATUS else "refused"
            return response


def _stop_at_deadline(request: RetryingRequest) -> tenacity.stop.stop_base:
    """Stop when no time is left for another attempt (tenacity's own timer starts per call)."""

    class _Deadline(tenacity.stop.stop_base):
        def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
            upcoming = retry_state.upcoming_sleep or 0.0
            return request.remaining() <= upcoming + 0.05

    return _Deadline()


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return min(float(value), 60.0) if value else 0.0
    except ValueError:
        return 0.0


class JitteredRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's retry policy with full-jitter exponential backoff."""

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return full_jitter_backoff(len(settings["history"]), settings["backoff"], settings["max_backoff"])


class AsyncJitteredRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """azure-core's async retry policy with full-jitter exponential backoff."""

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return full_jitter_backoff(len(settings["history"]), settings["backoff"], settings["max_backoff"])


def azure_retry_kwargs(
    policy: RetrySettings, *, asynchronous: bool = False, policy_class: bool = True
) -> dict[str, Any]:
    """Keyword arguments that make an azure-identity credential's pipeline follow ``policy``.

    ``policy_class=False`` for credentials that insist on their own retry policy class
    (azure-identity's IMDS credential): they still get the attempts, backoff and deadline.
    """
    kwargs: dict[str, Any] = {
        "retry_total": policy.attempts - 1,
        # azure-core also caps each kind of failure at 3 retries by default: give each the same budget.
        "retry_connect": policy.attempts - 1,
        "retry_read": policy.attempts - 1,
        "retry_status": policy.attempts - 1,
        "retry_backoff_factor": policy.initial_backoff_s,
        "retry_backoff_max": policy.max_backoff_s,
        "timeout": policy.deadline_s,
        "connection_timeout": policy.attempt_timeout_s,
        "read_timeout": policy.attempt_timeout_s,
    }
    if policy_class:
        kwargs["retry_policy_class"] = AsyncJitteredRetryPolicy if asynchronous else JitteredRetryPolicy
    return kwargs
