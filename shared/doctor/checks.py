"""doctor: check a federation hop by hop, show the claims that matter, and name the fix.

Each direction is a short list of steps run in order; the first that fails stops the run,
since every later hop needs what it would have produced. A step's error is classified exactly
as the functions classify it (:func:`shared.functions.http.describe`), so doctor names the same hop,
upstream code and fix a caller of the function would get. Claims are shown, tokens never.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.doctor import identity
from shared.functions.http import describe
from shared.redaction import redact, shown_claims

AZURE_TO_GOOGLE = "azure-to-google"
GOOGLE_TO_AZURE = "google-to-azure"
STORAGE_SCOPE = "https://storage.azure.com/.default"
GOOGLE_ISSUER = "https://accounts.google.com"


@dataclass
class Verdict:
    """The outcome of one hop: what was checked, what was seen, and what to change."""

    hop: str
    ok: bool
    detail: str
    fix: str = ""
    code: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Skip(Exception):
    """The step does not apply to these settings (no verdict is given)."""


class Mismatch(Exception):
    """What a token says differs from what the other side expects (found before asking it)."""

    def __init__(self, hop: str, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.hop, self.detail, self.fix = hop, detail, fix


Step = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]  # state -> (detail, claims)


def run(
    direction: str, environ: Mapping[str, str] | None = None, expected: Mapping[str, Any] | None = None
) -> list[Verdict]:
    """Check ``direction`` with the settings in ``environ`` (``os.environ`` by default).

    ``expected``: what the other side was provisioned to accept, from ``terraform output -json``
    (``function_app_principal_id``, ``azure_token_audience``, ``cloud_function_service_account_unique_id``);
    the tokens' claims are compared with it before the other side is asked. Its
    ``google_to_azure_identity_kind`` (``app_registration`` or ``user_assigned_identity``) decides which
    object the Google -> Azure fixes name (:mod:`shared.doctor.identity`).
    """
    env = dict(os.environ if environ is None else environ)
    outputs = {
        k: (v["value"] if isinstance(v, Mapping) and "value" in v else v) for k, v in (expected or {}).items()
    }
    steps = _azure_to_google(env, outputs) if direction == AZURE_TO_GOOGLE else _google_to_azure(env, outputs)
    state: dict[str, Any] = {}
    verdicts = []
    for hop, step in steps:
        started = time.perf_counter()
        try:
            detail, claims = step(state)
        except Skip:
            continue
        except Mismatch as mismatch:
            verdicts.append(Verdict(mismatch.hop, False, mismatch.detail, mismatch.fix, ms=_ms(started)))
            break
        except Exception as exc:  # every failure becomes a verdict, described as the functions describe it
            verdicts.append(failed_verdict(exc, hop, ms=_ms(started)))
            break
        verdicts.append(Verdict(hop, True, detail, claims=claims, ms=_ms(started)))
    if direction == GOOGLE_TO_AZURE:
        kind = str(outputs.get(identity.OUTPUT_NAME) or identity.APP_REGISTRATION)
        client_id = env.get("AZURE_CLIENT_ID", "")
        verdicts = [identity.for_identity(v, kind, client_id) for v in verdicts]
    return verdicts


def failed_verdict(exc: BaseException, hop: str, *, ms: float = 0.0) -> Verdict:
    """The verdict for what a step raised, described as the functions describe it (an unexpected error
    says what it was: doctor and ``token`` are run by the operator)."""
    failure = describe(exc)
    detail = failure.message
    if failure.code == "internal":
        detail = f"{type(exc).__name__}: {redact(str(exc))}"
    if failure.settings:
        detail += f" (settings: {', '.join(failure.settings)})"
    return Verdict(failure.hop or hop, False, detail, failure.fix or "", failure.upstream_code or None, ms=ms)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


# -- Azure -> Google --------------------------------------------------------------------------


def _azure_to_google(env: dict[str, str], expected: Mapping[str, Any]) -> list[tuple[str, Step]]:
    from shared.functions.settings import FunctionAppSettings

    def settings(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        state["function"] = function = FunctionAppSettings.from_env(env, data_required=False)
        state["settings"] = value = function.federation
        account = value.service_account or "none: direct resource access"
        return f"provider {value.provider}; audience {value.azure_audience}; service account {account}", {}

    def azure_token(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from shared.azure_credential import StaticTokenCredential, azure_credential
        from shared.azure_to_google import AzureSubjectTokenSupplier

        value = state["settings"]
        supplier = AzureSubjectTokenSupplier(
            azure_credential(value), value.azure_audience, value.audience_setting
        )
        token = supplier.get_subject_token(None, None)
        claims = shown_claims(token)
        # The token doctor fetched, handed to the exchange steps (no second request).
        state["azure_credential"] = StaticTokenCredential(token, int(claims.get("exp", time.time() + 300)))
        # No judgement of aud here: the function makes none, STS does (next step). A v2 token's aud is the
        # audience app's client ID whatever identifier URI was asked for, and that works if the provider allows it.
        principal = expected.get("function_app_principal_id")
        if principal and claims.get("oid") != principal:
            raise Mismatch(
                "azure.token",
                f"the token's oid is {claims.get('oid')}, but Terraform provisioned the pool's condition and "
                f"bindings for {principal}",
                "run where the Function App's identity is, or set AZURE_CLIENT_ID to the identity Terraform trusts.",
            )
        audience = expected.get("azure_token_audience")
        if audience and audience != value.azure_audience:
            raise Mismatch(
                "azure.token",
                f"AZURE_TOKEN_AUDIENCE is {value.azure_audience}, Terraform's provider allows {audience}",
                f"set AZURE_TOKEN_AUDIENCE to {audience}.",
            )
        version = "v2" if str(claims.get("iss", "")).endswith("/v2.0") else "v1"
        if version == "v2":
            return (
                f"a v2 token from {type(supplier.credential).__name__}: the provider's issuer must be "
                f"{claims.get('iss')} and its allowed_audiences must include the app's client ID {claims.get('aud')}",
                claims,
            )
        return (
            f"a {version} token from {type(supplier.credential).__name__}; the provider's issuer must be {claims.get('iss')}",
            claims,
        )

    def exchange(state: dict[str, Any], impersonate: bool) -> tuple[str, dict[str, Any]]:
        from google.auth.transport.requests import Request

        from shared.azure_to_google import google_credentials

        value = (
            state["settings"] if impersonate else dataclasses.replace(state["settings"], service_account=None)
        )
        credentials = google_credentials(value, azure_credential=state["azure_credential"])
        credentials.refresh(Request())
        state["google_credentials"] = credentials
        expires = credentials.expiry.isoformat() if credentials.expiry else "?"
        if impersonate:
            return f"an access token for {value.service_account}, expiring {expires} UTC", {}
        return f"a federated access token for the pool's principal, expiring {expires} UTC", {}

    def bigquery(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from google.cloud import bigquery as bq

        function = state["function"]
        if not function.project:
            raise Skip
        endpoint = function.api_endpoint
        client = bq.Client(
            project=function.project,
            credentials=state["google_credentials"],
            client_options={"api_endpoint": endpoint} if endpoint else None,
        )
        rows = list(client.query_and_wait("SELECT 1 AS ok", location=function.location))
        return f"SELECT 1 ran in project {function.project} ({len(rows)} row)", {}

    steps: list[tuple[str, Step]] = [
        ("settings", settings),
        ("azure.token", azure_token),
        ("gcp.sts", lambda state: exchange(state, impersonate=False)),
        ("gcp.iam", lambda state: exchange(state, impersonate=True)),
        ("google.data", bigquery),
    ]
    return steps


# -- Google -> Azure --------------------------------------------------------------------------


def _google_to_azure(env: dict[str, str], expected: Mapping[str, Any]) -> list[tuple[str, Step]]:
    from shared.functions.settings import CloudFunctionSettings

    def settings(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        state["function"] = function = CloudFunctionSettings.from_env(env, data_required=False)
        state["settings"] = value = function.federation
        return (
            f"tenant {value.tenant_id}; app {value.client_id}; ID token from {value.id_token_source}, "
            f"audience {value.id_token_audience}",
            {},
        )

    kind = str(expected.get(identity.OUTPUT_NAME) or identity.APP_REGISTRATION)

    def id_token(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from google.auth.transport.requests import Request

        from shared.google_id_tokens import id_token_supplier
        from shared.retry import RetryingRequest

        value = state["settings"]
        token = id_token_supplier(value).get_id_token(
            value.id_token_audience, RetryingRequest(Request(), value.retry)
        )
        claims = shown_claims(token)
        if claims.get("iss") != GOOGLE_ISSUER or claims.get("aud") != value.id_token_audience:
            raise Mismatch(
                "gcp.id_token",
                f"the ID token has iss {claims.get('iss')!r} and aud {claims.get('aud')!r}",
                f"the federated credential expects issuer {GOOGLE_ISSUER} and audience {value.id_token_audience}.",
            )
        subject = expected.get("cloud_function_service_account_unique_id")
        if subject and claims.get("sub") != subject:
            raise Mismatch(
                "gcp.id_token",
                f"this ID token's sub is {claims.get('sub')} ({claims.get('email')}), but Terraform's federated "
                f"credential trusts subject {subject}",
                "run as the service account Terraform made the federated credential for "
                "(cloud_function_service_account), or point the credential's subject at this account's unique ID.",
            )
        return (
            f"the federated credential on {identity.object_name(kind, value.client_id)} must have issuer {GOOGLE_ISSUER}, "
            f"subject {claims.get('sub')} (this account's unique ID) and audience {value.id_token_audience}",
            claims,
        )

    def entra(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from shared.google_to_azure import GoogleFederatedCredential

        credential = GoogleFederatedCredential(state["settings"])
        state["credential"] = credential
        token = credential.get_token(STORAGE_SCOPE)
        claims = shown_claims(token.token)
        signed_in = (
            "the managed identity"
            if kind == identity.USER_ASSIGNED_IDENTITY
            else "the app's service principal"
        )
        return f"an Entra token for {STORAGE_SCOPE} as {signed_in}", claims

    def blobs(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from azure.storage.blob import BlobServiceClient

        function = state["function"]
        if not (function.account_url and function.container):
            raise Skip
        container = function.container
        service = BlobServiceClient(function.account_url, credential=state["credential"], retry_total=1)
        pages = service.get_container_client(container).list_blobs(results_per_page=1).by_page()
        listed = len(list(next(pages)))
        return f"listed container {container!r} ({listed} blob on the first page)", {}

    steps: list[tuple[str, Step]] = [
        ("settings", settings),
        ("gcp.id_token", id_token),
        ("entra.token", entra),
        ("azure.data", blobs),
    ]
    return steps
