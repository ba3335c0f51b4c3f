"""``shared.functions.http`` and ``shared.functions.logs``: the error contract and the log lines, on their own."""

from __future__ import annotations

import json
import logging
import secrets

import jwt
import pytest

from shared.errors import IamRefusal, SettingsError, UpstreamUnavailable
from shared.functions.http import BadParameter, QueryParams, error_reply
from shared.functions.logs import CloudLoggingFormatter, InlineJsonFilter, trace_fields
from shared.settings import RetrySettings

A_TOKEN = jwt.encode({"sub": "someone", "aud": "x"}, secrets.token_bytes(32), algorithm="HS256")


def test_an_unexpected_error_is_a_bare_500() -> None:
    reply = error_reply(RuntimeError(f"boom with {A_TOKEN}"), request_id="r1")

    assert reply.status == 500
    assert reply.body == {
        "error": {
            "status": 500,
            "code": "internal",
            "message": "unexpected error; see the function's logs for this request_id",
            "request_id": "r1",
        }
    }


def test_refusals_keep_hop_code_and_fix_but_never_a_token() -> None:
    error = IamRefusal(
        f"denied for {A_TOKEN}", hop="gcp.iam", fix="grant the role", code="PERMISSION_DENIED", status=403
    )

    reply = error_reply(error, request_id="r2")

    assert reply.status == 403
    body = reply.body["error"]
    assert (body["code"], body["hop"], body["upstream_code"], body["fix"]) == (
        "federation_refused",
        "gcp.iam",
        "PERMISSION_DENIED",
        "grant the role",
    )
    assert A_TOKEN not in reply.json()


@pytest.mark.parametrize(("retry_after_s", "header"), [(None, "5"), (0.2, "1"), (7.5, "8")])
def test_unavailable_is_503_with_a_whole_retry_after(retry_after_s: float | None, header: str) -> None:
    reply = error_reply(
        UpstreamUnavailable("down", hop="gcp.sts", retry_after_s=retry_after_s), request_id="r"
    )

    assert (reply.status, reply.headers["Retry-After"]) == (503, header)
    assert reply.body["error"]["retry_after_s"] == int(header)


def test_settings_errors_name_every_setting() -> None:
    reply = error_reply(SettingsError([("B", "x"), ("A", "y"), ("B", "z")]), request_id="r")

    assert (reply.status, reply.body["error"]["settings"]) == (500, ["A", "B"])


def test_query_params_are_strict() -> None:
    params = QueryParams({"n": ["5"], "s": "abc"}, ["n", "s", "t"])

    assert (
        params.integer("n", default=1, low=1, high=9),
        params.text("s"),
        params.text("t", default="d"),
    ) == (5, "abc", "d")
    assert params.given == {"n", "s"}
    with pytest.raises(BadParameter, match="'n'"):
        params.integer("n", default=1, low=6, high=9)
    with pytest.raises(BadParameter, match="give it once"):
        QueryParams({"n": ["1", "2"]}, ["n"])
    with pytest.raises(BadParameter, match="unknown parameter"):
        QueryParams({"x": "1"}, ["n"])


def record(message: str, **fields: object) -> logging.LogRecord:
    entry = logging.LogRecord("t", logging.WARNING, __file__, 1, message, None, None)
    entry.json_fields = fields
    return entry


def test_cloud_logging_lines_are_json_with_severity_and_no_token() -> None:
    line = CloudLoggingFormatter().format(record(f"saw {A_TOKEN}", request_id="r", nested={"token": A_TOKEN}))

    entry = json.loads(line)
    assert entry["severity"] == "WARNING" and entry["request_id"] == "r"
    assert A_TOKEN not in line


def test_azure_lines_carry_the_fields_after_the_message() -> None:
    entry = record("GET /api/bigquery -> 200", request_id="r", header=f"Bearer {A_TOKEN}")

    InlineJsonFilter().filter(entry)

    message = entry.getMessage()
    assert message.startswith("GET /api/bigquery -> 200 {")
    assert json.loads(message[message.index("{") :])["request_id"] == "r"
    assert A_TOKEN not in message


def test_trace_fields_from_either_header() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"  # W3C's example trace ID  # pragma: allowlist secret

    assert trace_fields(f"00-{trace}-00f067aa0ba902b7-01", None, "p")["logging.googleapis.com/trace"] == (
        f"projects/p/traces/{trace}"
    )
    assert trace_fields(None, f"{trace}/123;o=1", "p")["logging.googleapis.com/spanId"] == "123"
    assert trace_fields("garbage", None, "p") == {}


@pytest.mark.misconfig
def test_retry_settings_from_the_environment() -> None:
    settings = RetrySettings.from_env(
        {"FEDERATION_RETRY_ATTEMPTS": "3", "FEDERATION_RETRY_DEADLINE_S": "2.5"}
    )
    assert (settings.attempts, settings.deadline_s, settings.attempt_timeout_s) == (3, 2.5, 5.0)

    with pytest.raises(SettingsError) as raised:
        RetrySettings.from_env({"FEDERATION_RETRY_ATTEMPTS": "0", "FEDERATION_ATTEMPT_TIMEOUT_S": "soon"})
    assert [name for name, _ in raised.value.problems] == [
        "FEDERATION_RETRY_ATTEMPTS",
        "FEDERATION_ATTEMPT_TIMEOUT_S",
    ]
