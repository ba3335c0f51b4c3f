"""Bad input, generated (hypothesis): whatever a caller or an upstream sends, nothing breaks.

Both functions' query parameters: only 200, 400, 401, 403, 404 or 503 come back, always JSON,
never a traceback; and the SQL BigQuery receives is always one of the named queries. The
parsers of upstream answers (error bodies, page tokens) and the redaction of tokens: any input
gives a translated error or a clean refusal, never an exception of their own.
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from shared import errors
from shared.functions.http import BadParameter, QueryParams
from shared.redaction import redact
from tests.support import entrypoints
from tests.support.entrypoints import CloudFunctionClient, FunctionApp, apply_settings

pytestmark = pytest.mark.misconfig
ALLOWED = {200, 400, 401, 403, 404, 503}
EXAMPLES = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Parameter names the functions know, and others; values that are valid, near-valid and hostile.
NAMES = st.sampled_from(
    ["container", "prefix", "max_results", "page_token", "query", "state", "year", "limit", "code", "x"]
) | st.text(min_size=1, max_size=12)
VALUES = st.one_of(
    st.sampled_from(
        [
            "reports",
            "top_names",
            "current_date",
            "TX",
            "2021",
            "3",
            "0",
            "-1",
            "1e9",
            "",
            "'; DROP TABLE x; --",
        ]
    ),
    st.text(max_size=80),
    st.integers(-(10**12), 10**12).map(str),
    st.text(alphabet=string.printable, max_size=300),
)
PARAMS = st.dictionaries(NAMES, VALUES, max_size=5)


@pytest.fixture(scope="module")
def module_monkeypatch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def cloud_function(lab: Lab, module_monkeypatch: pytest.MonkeyPatch) -> CloudFunctionClient:
    apply_settings(module_monkeypatch, cloud_function_settings(lab))
    return entrypoints.cloud_function(lab)


@pytest.fixture(scope="module")
def function_app(lab: Lab, module_monkeypatch: pytest.MonkeyPatch) -> FunctionApp:
    apply_settings(module_monkeypatch, function_app_settings(lab))
    return entrypoints.function_app(lab, module_monkeypatch)


def assert_contract(status: int, body: dict[str, Any]) -> None:
    assert status in ALLOWED, body
    if status != 200:
        assert set(body) == {"error"} and body["error"]["status"] == status
        assert "Traceback" not in json.dumps(body)


@EXAMPLES
@given(params=PARAMS)
def test_cloud_function_parameters(cloud_function: CloudFunctionClient, params: dict[str, str]) -> None:
    response = cloud_function.get("/", query_string=params)

    assert_contract(response.status_code, response.get_json())


@EXAMPLES
@given(params=PARAMS)
def test_function_app_parameters_and_the_sql_it_sends(
    function_app: FunctionApp, params: dict[str, str]
) -> None:
    status, body, _ = function_app(**params)

    assert_contract(status, body)
    if status == 200:
        job = function_app.module.bigquery_client().get_job(body["job"]["job_id"], location="US")
        assert job.query in {query.sql for query in function_app.module.QUERIES.values()}


@settings(max_examples=300, deadline=None)
@given(
    token=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b).decode())
)
def test_any_page_token_is_used_or_refused_as_a_bad_parameter(token: str) -> None:
    from gcp_function import main  # the module's helpers only; no request is made

    try:
        marker = main.marker_of(token, "reports", "")
    except BadParameter as refusal:
        assert refusal.parameter == "page_token"
    else:
        assert isinstance(marker, str)


BODIES = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.binary(max_size=100),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=40),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
        max_leaves=12,
    ).map(json.dumps),
    st.fixed_dictionaries(
        {
            "error": st.text(max_size=30),
            "error_description": st.text(max_size=200),
            "error_codes": st.lists(st.integers(), max_size=2),
        }
    ),
)
STATUSES = st.none() | st.integers(100, 599)


@settings(max_examples=300, deadline=None)
@given(body=BODIES, status=STATUSES)
def test_upstream_error_bodies_always_translate(body: Any, status: int | None) -> None:
    for translated in (
        errors.entra_refusal(body, status=status, context={}),
        errors.sts_refusal(body, status=status, context={}),
        errors.google_api_refusal(body, status=status, hop="gcp.iam", context={}),
    ):
        assert isinstance(translated, errors.FederationError)
        assert translated.hop and str(translated)
        assert translated.retryable == (isinstance(translated, errors.UpstreamUnavailable))


JWT_PART = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=8, max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.text(max_size=40),
    header=JWT_PART,
    payload=JWT_PART,
    signature=JWT_PART,
    suffix=st.text(max_size=40),
)
def test_redaction_removes_any_jwt_shaped_value(
    prefix: str, header: str, payload: str, signature: str, suffix: str
) -> None:
    token = f"eyJ{header}.{payload}.{signature}"

    for text in (f"{prefix} {token} {suffix}", f"Authorization: Bearer {token}", f"access_token={token}&x=1"):
        cleaned = redact(text)
        assert token not in cleaned
        assert redact(cleaned) == cleaned


@settings(max_examples=300, deadline=None)
@given(
    args=st.dictionaries(
        st.text(max_size=10), st.text(max_size=20) | st.lists(st.text(max_size=5), max_size=3)
    )
)
def test_query_params_refuse_cleanly(args: dict[str, Any]) -> None:
    try:
        params = QueryParams(args, ["a", "b"])
        params.integer("a", default=1, low=1, high=10)
        params.text("b", pattern="[a-z]+", max_length=8)
    except BadParameter as refusal:
        assert refusal.parameter in args or refusal.parameter in ("a", "b")
