"""Azure -> Google: an Azure token, exchanged at Google STS, as standard google-auth credentials.

:func:`google_credentials` returns a ``google.auth.credentials.Credentials`` that every
google-cloud client accepts. Inside, google-auth's own ``identity_pool.Credentials`` does the
exchange (and the optional service-account impersonation), fed by
:class:`AzureSubjectTokenSupplier`; around it this module adds what google-auth lacks:

* single flight: however many threads ask at once, one exchange runs (one call per hop);
* refresh ahead of expiry in the background, so no request waits while a token is valid;
* retries with backoff and jitter inside a deadline, on STS and IAM as well;
* refusals translated into :mod:`shared.errors`, saying what to change.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from google.auth import credentials as google_credentials_base
from google.auth import exceptions as google_exceptions
from google.auth import identity_pool

from shared import azure_credential as azure_credentials
from shared import errors, tracing
from shared.redaction import claims_text, package_logger, shown_claims
from shared.refresh import Fetched, RefreshTiming, TokenHolder
from shared.retry import RetryingRequest, certificate_rejected, deadline_scope, hop_of, untrusted_certificate
from shared.settings import AzureToGoogleSettings

SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
_log = package_logger("shared.azure_to_google")


def scope_for(audience: str) -> str:
    """The Entra scope for a resource: ``api://app`` -> ``api://app/.default``."""
    return audience if audience.endswith("/.default") else f"{audience.rstrip('/')}/.default"


class AzureSubjectTokenSupplier(identity_pool.SubjectTokenSupplier):
    """google-auth's subject-token extension point, backed by any azure-identity credential.

    The Azure token is asked for on every exchange (azure-identity caches it) and is never
    handed to STS once expired. The claims that matter for errors (``iss``, ``sub``, ``tid``,
    ``oid``, ``aud``) are kept; the token is not.
    """

    def __init__(
        self, credential: TokenCredential, audience: str, audience_setting: str = "AZURE_TOKEN_AUDIENCE"
    ) -> None:
        self.credential = credential
        self.scope = scope_for(audience)
        self.audience_setting = audience_setting  # what a fix names: the variable, or a credential file
        self.last_claims: dict[str, Any] = {}

    def get_subject_token(self, context: Any, request: Any) -> str:
        with tracing.hop("azure.token") as record:
            record.attributes["credential"] = type(self.credential).__name__
            return self._azure_token()

    def _azure_token(self) -> str:
        try:
            token = self.credential.get_token(self.scope)
        except errors.FederationError:
            raise
        except ClientAuthenticationError as exc:
            if _is_workload_identity(self.credential):
                raise _workload_identity_error(exc, self.credential) from None
            raise _azure_source_error(exc, self.scope, self.credential, self.audience_setting) from None
        except AzureError as exc:
            if certificate_rejected(exc):
                raise untrusted_certificate(azure_hop(self.credential), _endpoint_of(exc)) from None
            raise errors.UpstreamUnavailable(
                f"the Azure token request failed: {type(exc).__name__}", hop=azure_hop(self.credential)
            ) from None
        if token.expires_on <= time.time():
            raise errors.ManagedIdentityError(
                "the Azure credential returned an expired token",
                hop="azure.token",
                fix="check the machine's clock.",
            )
        errors.jwt_claims(  # a JWT, or an error naming the credential
            token.token,
            hop="azure.token",
            what=f"the Azure credential {type(self.credential).__name__}",
            fix="an azure_credential must return an Entra access token (a JWT) in AccessToken.token.",
        )
        self.last_claims = shown_claims(token.token)
        return str(token.token)


def _endpoint_of(exc: AzureError) -> str:
    """The URL the failed Azure request went to, if azure-core kept it."""
    request = getattr(getattr(exc, "response", None), "request", None)
    return str(getattr(request, "url", "") or "the Azure token endpoint")


def azure_hop(credential: TokenCredential) -> str:
    """The hop an azure-identity credential calls: the managed identity endpoint, or Entra itself."""
    name = type(credential).__name__
    if name in ("ManagedIdentityCredential", "ImdsCredential", "AppServiceCredential"):
        return "azure.msi"
    if name in ("WorkloadIdentityCredential", "ClientSecretCredential", "ClientAssertionCredential"):
        return "entra.token"
    return "azure.token"


def _is_workload_identity(credential: TokenCredential) -> bool:
    from azure.identity import WorkloadIdentityCredential

    return isinstance(credential, WorkloadIdentityCredential)


def _workload_identity_error(exc: ClientAuthenticationError, credential: Any) -> errors.FederationError:
    """Entra refused the projected token (AKS): the fix names the federated credential's issuer and subject."""
    from shared.errors.workload_identity import workload_identity_refusal

    # azure-identity keeps the client ID and the file path privately (1.27: _client._client_id, _token_file_path).
    client_id = str(getattr(getattr(credential, "_client", None), "_client_id", "") or "AZURE_CLIENT_ID")
    try:
        with open(credential._token_file_path, encoding="utf-8") as handle:
            claims = shown_claims(handle.read().strip())
    except (OSError, ValueError, AttributeError):
        claims = {}
    context = {"client_id": client_id, "assertion": claims_text(claims, ("iss", "sub", "aud")) or "?"}
    refusal = errors.entra_refusal_of(exc, context={**context, "tenant_id": "AZURE_TENANT_ID"})
    return workload_identity_refusal(refusal, context)


def _azure_source_error(
    exc: ClientAuthenticationError, scope: str, credential: TokenCredential, audience_setting: str
) -> errors.FederationError:
    """Translate a refusal of the Azure token request, at the hop the credential called: the managed
    identity endpoint, or Entra itself (workload identity, client secret)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) if response is not None else None
    text = str(exc.message or exc)
    hop = azure_hop(credential)
    if "AADSTS" in errors.body_text(response) or "AADSTS" in text:
        return errors.entra_refusal_of(
            exc,
            context={
                "client_id": "AZURE_CLIENT_ID",
                "resource": scope.removesuffix("/.default"),
                "scope": scope,
                "source": type(credential).__name__,
                "audience_setting": audience_setting,
            },
            fallback=text[text.index("AADSTS") :]
            if "AADSTS" in text
            else text,  # not azure-identity's prefix
            hop="azure.msi" if hop == "azure.token" else hop,
        )
    if status is not None and status in errors.RETRYABLE_STATUS:
        return errors.UpstreamUnavailable(
            f"the managed identity endpoint answered {status}", hop="azure.msi", status=status
        )
    return errors.ManagedIdentityError(
        f"no Azure token for {scope}: {text.splitlines()[0] if text else type(exc).__name__}",
        hop="azure.msi",
        fix=(
            "on Functions/App Service enable the identity (IDENTITY_ENDPOINT must be set); for a user-assigned "
            f"identity set AZURE_CLIENT_ID to its client ID; {audience_setting} must be an application ID URI "
            "that exists in the tenant."
        ),
        status=status,
    )


class AzureFederatedCredentials(google_credentials_base.CredentialsWithQuotaProject):
    """Google credentials for an Azure workload: single-flight, refresh-ahead, retrying, translating.

    Build with :func:`google_credentials`. Thread-safe; share one instance per process.
    """

    def __init__(
        self,
        exchange: identity_pool.Credentials,
        supplier: AzureSubjectTokenSupplier,
        settings: AzureToGoogleSettings,
        timing: RefreshTiming = RefreshTiming(),
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._exchange = exchange
        self._supplier = supplier
        self._settings = settings
        self._timing = timing
        self._universe_domain = settings.universe_domain
        self._quota_project_id = settings.quota_project_id
        self._holder: TokenHolder[tuple[str, datetime.datetime]] = TokenHolder(
            timing, "google-federated-token"
        )

    @property
    def settings(self) -> AzureToGoogleSettings:
        """The validated settings these credentials were built from."""
        return self._settings

    @property
    def token_holder(self) -> TokenHolder[tuple[str, datetime.datetime]]:
        """What holds the federated token: ``held`` (the token and its window), ``join_background()``."""
        return self._holder

    @property
    def service_account_email(self) -> str | None:
        """The impersonated service account, or ``None`` for direct resource access."""
        return self._settings.service_account

    def refresh(self, request: Any) -> None:
        """Fetch a new token now (single flight: concurrent callers share one refresh)."""
        self._remember(self._holder.refresh(lambda: self._exchange_once(request)))

    def before_request(self, request: Any, method: str, url: str, headers: dict[str, str]) -> None:
        """Attach a valid token: the held one (refreshing it in the background when due) or one fetch for all."""
        token = self._remember(self._holder.get(lambda: self._exchange_once(request)))
        self.apply(headers, token=token)  # type: ignore[no-untyped-call]

    def with_quota_project(self, quota_project_id: str) -> AzureFederatedCredentials:
        """A copy billing ``quota_project_id`` (it shares nothing mutable with this one)."""
        settings = dataclasses.replace(self._settings, quota_project_id=quota_project_id)
        return google_credentials(settings, azure_credential=self._supplier.credential, timing=self._timing)

    def _remember(self, held: tuple[str, datetime.datetime]) -> str:
        self.token, self.expiry = held
        return held[0]

    def _exchange_once(self, request: Any) -> Fetched[tuple[str, datetime.datetime]]:
        with deadline_scope(self._settings.retry):
            retrying = RetryingRequest.wrap(request, self._settings.retry)
            started = time.monotonic()
            try:
                self._exchange.refresh(retrying)
            except Exception as exc:
                raise self._translate(exc, retrying) from None
        token = str(self._exchange.token)
        expiry: datetime.datetime = self._exchange.expiry or datetime.datetime.now(datetime.UTC).replace(
            tzinfo=None
        )
        expires_at = expiry.replace(tzinfo=datetime.UTC).timestamp()
        _log.info(
            "Google token for %s obtained in %.0f ms (subject %s, expires in %.0f s)",
            self._settings.service_account or "the federated principal",
            (time.monotonic() - started) * 1000,
            self._supplier.last_claims.get("sub", "?"),
            expires_at - time.time(),
        )
        return (token, expiry), expires_at

    def _translate(self, exc: Exception, retrying: RetryingRequest) -> Exception:
        """google-auth's and azure-identity's failures as :mod:`shared.errors` (others unchanged)."""
        error: Exception
        if isinstance(exc, errors.FederationError):
            error = exc
        elif isinstance(exc, google_exceptions.OAuthError):  # STS: not a RefreshError
            error = errors.sts_refusal(_body(exc), status=retrying.last_status, context=self._context())
        elif isinstance(exc, google_exceptions.RefreshError):  # IAM generateAccessToken
            body = _body(exc)
            data = errors.json_body(body)
            status = (
                data["error"].get("code") if isinstance(data.get("error"), dict) else retrying.last_status
            )
            error = errors.google_api_refusal(body, status=status, hop="gcp.iam", context=self._context())
        elif isinstance(exc, google_exceptions.TransportError):
            error = errors.UpstreamUnavailable(
                f"no answer within the retry deadline: {exc}",
                hop=retrying.last_hop or _hop_from_text(str(exc)),
            )
        else:
            return exc
        if isinstance(error, errors.UpstreamUnavailable) and error.retry_after_s is None:
            error.retry_after_s = retrying.last_retry_after_s
        return error

    def _context(self) -> Mapping[str, str]:
        claims = self._supplier.last_claims
        subject = claims.get("sub", "<the Azure token's sub>")
        return {
            "provider": self._settings.provider,
            "azure_audience": self._settings.azure_audience,
            "subject_claims": claims_text(claims, ("tid", "oid", "sub")),
            "token_aud": str(claims.get("aud", "?")),
            "token_iss": str(claims.get("iss", "")),
            "token_version": "v2" if str(claims.get("iss", "")).endswith("/v2.0") else "v1",
            "audience_setting": self._settings.audience_setting,
            "service_account": self._settings.service_account or "",
            "principal": f"{self._settings.pool_principal_prefix}/subject/{subject}",
            "role": "roles/iam.workloadIdentityUser",
            "setting": "GCP_SERVICE_ACCOUNT",
        }


def _body(exc: BaseException) -> str:
    for arg in exc.args[1:]:
        if isinstance(arg, bytes | str):
            return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else arg
    return ""


def _hop_from_text(text: str) -> str:
    hop = hop_of(text)
    return hop if hop != "google" else "gcp.sts"


def google_credentials(
    settings: AzureToGoogleSettings | None = None,
    *,
    azure_credential: TokenCredential | None = None,
    timing: RefreshTiming = RefreshTiming(),
) -> AzureFederatedCredentials:
    """Google credentials for this Azure workload, from ``settings`` (default: the environment).

    ``azure_credential`` overrides the azure-identity credential chosen by
    ``settings.azure_source`` (any ``TokenCredential`` will do).
    """
    settings = settings or AzureToGoogleSettings.from_env()
    supplier = AzureSubjectTokenSupplier(
        azure_credential or azure_credentials.azure_credential(settings),
        settings.azure_audience,
        settings.audience_setting,
    )
    impersonation_options = (
        {"token_lifetime_seconds": settings.service_account_token_lifetime_s}
        if settings.service_account
        else {}
    )
    exchange = identity_pool.Credentials(
        audience=settings.provider,
        subject_token_type=SUBJECT_TOKEN_TYPE,
        token_url=settings.sts_url,
        subject_token_supplier=supplier,
        service_account_impersonation_url=settings.impersonation_url,
        service_account_impersonation_options=impersonation_options,
        scopes=list(settings.scopes),
        quota_project_id=settings.quota_project_id,
        universe_domain=settings.universe_domain,
    )
    return AzureFederatedCredentials(exchange, supplier, settings, timing)
