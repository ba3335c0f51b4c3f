"""Retries with exponential backoff and full jitter, inside an overall deadline, at every hop.

Two mechanisms, one policy (:class:`shared.settings.RetrySettings`):

* Google hops (STS, IAM Credentials, the metadata server, OAuth2) go through google-auth's
  injected transport; :class:`RetryingRequest` wraps it using tenacity.
* Azure hops (Entra token endpoint, managed identity) go through azure-core pipelines, which
  azure-identity builds from keyword arguments; :func:`azure_retry_kwargs` configures them
  with :class:`JitteredRetryPolicy` (azure-core's policy, whose backoff has no jitter).

Retried: :data:`shared.errors.RETRYABLE_STATUS` (408, 429, 500, 502, 503, 504), connection resets and
timeouts. Never retried: any other 4xx, because the same request cannot succeed a second time, and a
TLS certificate this process does not trust (:func:`certificate_rejected`): that is a
:class:`shared.errors.SettingsError` naming ``REQUESTS_CA_BUNDLE`` and the hop, not an outage.

**One deadline per request, across every layer.** :func:`deadline_scope` opens a deadline
(``RetrySettings.deadline_s`` from now) for everything a request does on this thread or task:
nested scopes share the outermost one, a :class:`RetryingRequest` created inside it never
outlives it, and the Azure policies cap azure-core's own ``timeout`` at what is left. Each hop
is called at most ``attempts`` times per :class:`RetryingRequest`; once its budget or the
deadline is spent, the next call raises :class:`shared.errors.UpstreamUnavailable` at once. That
error is not a ``google.auth.exceptions.TransportError``, so google-auth's own retry loops
(``compute_engine._metadata.get`` retries a TransportError five times with its own backoff,
outside any deadline of ours) stop there. A refused connection to the metadata server is not
retried at all: nothing listens there, so this is not Google Cloud (or ``GCE_METADATA_HOST`` is wrong).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import random
import socket
import ssl
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import requests
import tenacity
from azure.core.pipeline.policies import AsyncRetryPolicy, RetryPolicy
from google.auth import exceptions as google_exceptions
from google.auth import transport
from google.auth.transport import requests as google_requests

from shared import errors, tracing
from shared.errors import RETRYABLE_STATUS
from shared.redaction import package_logger
from shared.settings import RetrySettings

_log = package_logger("shared.retry")
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("federation_deadline", default=None)


@contextlib.contextmanager
def deadline_scope(policy: RetrySettings) -> Iterator[float]:
    """One deadline (monotonic seconds) for everything inside; an enclosing scope's wins."""
    current = _deadline.get()
    if current is not None:
        yield current
        return
    token = _deadline.set(time.monotonic() + policy.deadline_s)
    try:
        yield _deadline.get() or 0.0
    finally:
        _deadline.reset(token)


def remaining_s(default: float | None = None) -> float | None:
    """Seconds left before the enclosing :func:`deadline_scope`'s deadline (``default`` outside one)."""
    deadline = _deadline.get()
    return default if deadline is None else max(0.0, deadline - time.monotonic())


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything that caused it: ``__cause__``, ``__context__``, exception ``args``
    and urllib3's ``reason`` (requests and google-auth wrap the socket's error in all of these)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)


def connection_refused(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a refused connection or an unknown host name."""
    for current in _causes(error):
        if isinstance(current, ConnectionRefusedError | socket.gaierror):
            return True
        text = str(current)
        if "Connection refused" in text or "Errno 111" in text or "Name or service not known" in text:
            return True
    return False


def certificate_rejected(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a TLS certificate this process does not trust
    (``ssl.SSLCertVerificationError``, OpenSSL's ``CERTIFICATE_VERIFY_FAILED``): the same request
    fails the same way every time, so it is a setting to fix, not a transient failure."""
    return any(
        isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current)
        for current in _causes(error)
    )


def untrusted_certificate(hop: str, url: str) -> errors.SettingsError:
    """The settings error for an endpoint whose certificate is not trusted: requests verifies against
    ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) when set, else certifi's public CAs
    (https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification)."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return errors.SettingsError(
        [
            (
                "REQUESTS_CA_BUNDLE",
                f"{hop} at {host} presented a certificate that is not trusted (CERTIFICATE_VERIFY_FAILED): "
                "for a public cloud endpoint unset REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE (or name a bundle "
                "with the public CAs); for a private endpoint (a proxy, the lab) name a bundle that holds "
                "its CA",
            )
        ]
    )


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


_twins: weakref.WeakKeyDictionary[requests.Session, requests.Session] = weakref.WeakKeyDictionary()
_twins_lock = threading.Lock()


def without_nested_retries(request: Any) -> Any:
    """``request``, or a google-auth requests transport like it whose session retries nothing itself.

    google-auth's ``AuthorizedSession`` (what google-cloud-bigquery and friends use) refreshes its
    credentials through a session that mounts ``HTTPAdapter(max_retries=3)``
    (google/auth/transport/requests.py), so urllib3 would retry every connection failure three times
    inside each of our attempts and one attempt could last four attempt timeouts. The twin keeps the
    session's TLS, proxy and header settings, and is made once per session (connections are reused).
    """
    if isinstance(request, functools.partial):  # AuthorizedSession passes partial(auth_request, timeout=...)
        inner = without_nested_retries(request.func)
        return (
            request if inner is request.func else functools.partial(inner, *request.args, **request.keywords)
        )
    session = getattr(request, "session", None)
    if not isinstance(request, google_requests.Request) or not isinstance(session, requests.Session):
        return request
    if not any(getattr(getattr(a, "max_retries", None), "total", 0) for a in session.adapters.values()):
        return request
    with _twins_lock:
        twin = _twins.get(session)
        if twin is None:
            twin = _twins[session] = requests.Session()
            twin.verify, twin.cert, twin.proxies = session.verify, session.cert, dict(session.proxies)
            twin.trust_env = session.trust_env
            twin.headers.update(session.headers)
    return google_requests.Request(twin)


class RetryingRequest(transport.Request):
    """A google-auth transport request that retries transient failures until a deadline.

    One instance serves one refresh: the deadline starts when it is created (or is the enclosing
    :func:`deadline_scope`'s, if sooner), and each hop gets ``policy.attempts`` calls in all,
    however often google-auth calls it. Wrapping a ``RetryingRequest`` again returns the same
    deadline (nested credentials share it).
    """

    def __init__(self, inner: Any, policy: RetrySettings) -> None:
        self.inner: Any = inner.inner if isinstance(inner, RetryingRequest) else without_nested_retries(inner)
        self.policy = policy
        own = time.monotonic() + policy.deadline_s
        scoped = _deadline.get()
        self.deadline: float = (
            inner.deadline if isinstance(inner, RetryingRequest) else min(own, scoped or own)
        )
        self.calls: Counter[str] = inner.calls if isinstance(inner, RetryingRequest) else Counter()
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
            if remaining <= 0 or self.calls[hop] >= policy.attempts:
                raise self._spent(hop, remaining)
            limit = min(timeout or policy.attempt_timeout_s, policy.attempt_timeout_s, remaining)
            self.last_status = None
            self.calls[hop] += 1
            try:
                response = self.inner(url, method=method, body=body, headers=headers, timeout=limit, **kwargs)
            except google_exceptions.TransportError as exc:
                if hop == "gcp.metadata" and connection_refused(exc):
                    raise _no_metadata_server(url) from None
                if certificate_rejected(exc):
                    raise untrusted_certificate(hop, url) from None
                raise
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
            # Out of attempts or time on a retryable answer: raise rather than hand it back, or
            # google-auth's own loops (the metadata server's) would sleep and ask again.
            retry_error_callback=lambda state: self._give_up(hop, state),
            reraise=True,
        )
        with tracing.hop(hop, url) as record:
            try:
                response = retrying(attempt)
            except google_exceptions.TransportError as exc:  # the last attempt's: no time or budget left
                raise self._spent(hop, self.remaining(), cause=type(exc).__name__) from None
            record.status = self.last_status
            if record.status is not None and record.status >= 400:
                record.outcome = "unavailable" if record.status in RETRYABLE_STATUS else "refused"
            return response

    def _give_up(self, hop: str, state: tenacity.RetryCallState) -> Any:
        """The last outcome, when retrying stops: an exception is re-raised (as the budget's error)."""
        if state.outcome is None:
            return None
        response = state.outcome.result()  # re-raises the last attempt's exception
        if getattr(response, "status", 0) in RETRYABLE_STATUS:
            raise self._spent(hop, self.remaining())
        return response

    def _spent(self, hop: str, remaining: float, cause: str = "") -> errors.UpstreamUnavailable:
        """The error for a hop with no attempts or time left in this request."""
        why = (
            f"no answer within the deadline of {self.policy.deadline_s:g} s"
            if remaining <= 0
            else f"{self.calls[hop]} attempt(s) failed"
        )
        detail = f"last: HTTP {self.last_status}" if self.last_status else cause
        return errors.UpstreamUnavailable(
            f"{hop}: {why}" + (f" ({detail})" if detail else ""),
            hop=hop,
            status=self.last_status,
            retry_after_s=self.last_retry_after_s,
        )


def _no_metadata_server(url: str) -> errors.UpstreamUnavailable:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return errors.UpstreamUnavailable(
        f"no metadata server answers at {host}: this is not Google Cloud, or GCE_METADATA_HOST is wrong",
        hop="gcp.metadata",
        fix=(
            "on Cloud Functions / Cloud Run / GCE the metadata server is always there (unset GCE_METADATA_HOST); "
            "elsewhere set GOOGLE_ID_TOKEN_SOURCE=key_file (GOOGLE_APPLICATION_CREDENTIALS) or impersonation "
            "(GOOGLE_IMPERSONATE_SERVICE_ACCOUNT)."
        ),
    )


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


def _capped(settings: dict[str, Any]) -> dict[str, Any]:
    """azure-core's retry settings with ``timeout`` capped at the enclosing deadline."""
    left = remaining_s()
    if left is not None:
        settings["timeout"] = min(settings["timeout"], max(left, 0.001))
    return settings


class JitteredRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's retry policy with full-jitter exponential backoff, inside the request's deadline."""

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        return _capped(super().configure_retries(options))

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return full_jitter_backoff(len(settings["history"]), settings["backoff"], settings["max_backoff"])


class AsyncJitteredRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """azure-core's async retry policy with full-jitter exponential backoff, inside the request's deadline."""

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        return _capped(super().configure_retries(options))

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
