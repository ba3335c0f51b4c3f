"""Google ID tokens for the Entra client assertion: metadata server, key file, or impersonation.

Each supplier fetches a *fresh* ID token on every call (an assertion is never reused, so it is
never presented after it expired) through the transport it is given, which retries. The
supplier interface mirrors google-auth's ``SubjectTokenSupplier``: one method, the transport
injected, so a test or a user can bring their own.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

from google.auth import exceptions as google_exceptions

from shared import errors
from shared.settings import CLOUD_PLATFORM_SCOPE, GoogleToAzureSettings


class GoogleIdTokenSupplier(Protocol):
    """Supplies a Google-signed ID token for ``audience``, fetched through ``request``."""

    def get_id_token(self, audience: str, request: Any) -> str: ...


class MetadataIdTokens:
    """The attached service account's ID token, from the metadata server (Cloud Functions, Cloud Run, GCE).

    google-auth's credentials object is built once per audience, without a request: given one,
    it would first ask the metadata server who the account is, a round trip the identity
    endpoint (``service-accounts/default/identity``) does not need. Each call fetches a new ID token.
    """

    def __init__(self) -> None:
        self._credentials: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get_id_token(self, audience: str, request: Any) -> str:
        from google.auth import compute_engine

        try:
            with self._lock:  # google-auth credentials are not thread-safe
                credentials = self._credentials.get(audience)
                if credentials is None:
                    credentials = compute_engine.IDTokenCredentials(
                        None, target_audience=audience, use_metadata_identity_endpoint=True
                    )
                    self._credentials[audience] = credentials
                credentials.refresh(request)
                return str(credentials.token)
        except (google_exceptions.TransportError, google_exceptions.RefreshError) as exc:
            raise errors.GoogleIdTokenError(
                f"the metadata server gave no ID token: {exc}",
                hop="gcp.metadata",
                fix=(
                    "run on Cloud Functions / Cloud Run / GCE with a service account attached, or set "
                    "GOOGLE_ID_TOKEN_SOURCE=key_file (GOOGLE_APPLICATION_CREDENTIALS) or impersonation "
                    "(GOOGLE_IMPERSONATE_SERVICE_ACCOUNT) for local development."
                ),
            ) from None


class KeyFileIdTokens:
    """A service-account key file's ID token (JWT-bearer grant at the file's ``token_uri``)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def get_id_token(self, audience: str, request: Any) -> str:
        from google.oauth2 import service_account

        try:
            credentials = service_account.IDTokenCredentials.from_service_account_file(
                self.path, target_audience=audience
            )
            credentials.refresh(request)
        except (ValueError, OSError) as exc:
            raise errors.GoogleIdTokenError(
                f"the key file could not be used: {type(exc).__name__}",
                hop="gcp.oauth2",
                fix="GOOGLE_APPLICATION_CREDENTIALS must be a service-account JSON key file.",
            ) from None
        except (google_exceptions.TransportError, google_exceptions.RefreshError) as exc:
            raise errors.GoogleIdTokenError(
                f"the key file's token endpoint refused: {exc}",
                hop="gcp.oauth2",
                fix="the key may be disabled or deleted: create a new key, or use impersonation instead.",
            ) from None
        return str(credentials.token)


class ImpersonatedIdTokens:
    """Another service account's ID token, minted by IAM ``generateIdToken`` with local ADC.

    The ADC principal (``gcloud auth application-default login``, or a key file) needs
    ``roles/iam.serviceAccountTokenCreator`` on the service account.
    """

    def __init__(
        self, service_account: str, generate_id_token_url: str, source_credentials: Any = None
    ) -> None:
        self.service_account = service_account
        self.url = generate_id_token_url
        self._source = source_credentials
        self._lock = threading.Lock()

    def _source_credentials(self) -> Any:
        with self._lock:
            if self._source is None:
                import google.auth

                self._source, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            return self._source

    def get_id_token(self, audience: str, request: Any) -> str:
        source = self._source_credentials()
        headers = {"Content-Type": "application/json"}
        with self._lock:  # google-auth credentials are not thread-safe
            if not source.valid:
                source.refresh(request)
            source.apply(headers)  # not before_request: no side lookups from here
        body = json.dumps({"audience": audience, "includeEmail": True}).encode()
        response = request(self.url, method="POST", body=body, headers=headers)
        payload = errors.body_text(response)
        if response.status != 200:
            principal = getattr(source, "service_account_email", None) or "your ADC principal"
            raise errors.google_api_refusal(
                payload,
                status=response.status,
                hop="gcp.iam",
                context={
                    "service_account": self.service_account,
                    "principal": f"serviceAccount:{principal}" if "@" in principal else principal,
                    "role": "roles/iam.serviceAccountTokenCreator",
                    "setting": "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
                },
            )
        return str(json.loads(payload)["token"])


def id_token_supplier(settings: GoogleToAzureSettings) -> GoogleIdTokenSupplier:
    """The supplier ``settings.id_token_source`` names."""
    if settings.id_token_source == "key_file":
        return KeyFileIdTokens(str(settings.key_file))
    if settings.id_token_source == "impersonation":
        return ImpersonatedIdTokens(str(settings.impersonate_service_account), settings.generate_id_token_url)
    return MetadataIdTokens()
