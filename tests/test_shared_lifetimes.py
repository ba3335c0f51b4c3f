"""Short-lived tokens over many refreshes: nothing is ever used past its expiry.

The lab issues every token with a three-second lifetime; the credentials run for about
nine seconds of requests, so each token is replaced several times.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from azure.core.credentials import AccessToken
from azure.identity import ManagedIdentityCredential
from google.auth.transport.requests import Request

from lab.core.runtime import Lab
from shared.azure_to_google import google_credentials
from shared.google_id_tokens import MetadataIdTokens
from shared.google_to_azure import GoogleFederatedCredential
from tests.support.federation import STORAGE_SCOPE, azure_to_google_settings, google_to_azure_settings

pytestmark = pytest.mark.singleflight

LIFETIME_S = 3
RUN_S = 9


def expiry_of(token: str) -> float:
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])


class RecordingAzureCredential:
    """Records, for each Azure token handed to the STS exchange, its expiry and when it was handed over."""

    def __init__(self) -> None:
        self.inner = ManagedIdentityCredential()
        self.handed: list[tuple[float, float]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token: AccessToken = self.inner.get_token(*scopes, **kwargs)
        self.handed.append((time.time(), float(token.expires_on)))
        return token


def test_subject_and_federated_tokens_are_never_used_past_expiry(lab: Lab) -> None:
    lab.controls.token_lifetime_s = LIFETIME_S
    azure = RecordingAzureCredential()
    credentials = google_credentials(
        azure_to_google_settings(lab, service_account=None), azure_credential=azure
    )
    used: list[tuple[float, float]] = []
    distinct: set[float] = set()

    end = time.time() + RUN_S
    while time.time() < end:
        headers: dict[str, str] = {}
        credentials.before_request(Request(), "GET", "https://bigquery.lab.internal/", headers)
        token = headers["authorization"].removeprefix("Bearer ")
        used.append((time.time(), expiry_of(token)))
        distinct.add(expiry_of(token))
        time.sleep(0.1)

    assert all(at < expiry for at, expiry in used), "a Google token was used after it expired"
    assert all(at < expiry for at, expiry in azure.handed), "an Azure token was exchanged after it expired"
    assert len(distinct) >= RUN_S // LIFETIME_S  # replaced several times...
    assert lab.counts()["gcp.sts.token"] < len(used) / 3  # ...but not exchanged on every request


class RecordingIdTokens(MetadataIdTokens):
    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []

    def get_id_token(self, audience: str, request: Any) -> str:
        token = super().get_id_token(audience, request)
        self.fetched.append(token)
        return token


def test_each_assertion_is_a_fresh_id_token_and_no_azure_token_is_served_expired(lab: Lab) -> None:
    lab.controls.token_lifetime_s = LIFETIME_S
    id_tokens = RecordingIdTokens()
    credential = GoogleFederatedCredential(google_to_azure_settings(), id_tokens=id_tokens)
    served: list[tuple[float, float]] = []

    end = time.time() + RUN_S
    while time.time() < end:
        token = credential.get_token(STORAGE_SCOPE)
        served.append((time.time(), float(token.expires_on)))
        time.sleep(0.1)

    assert all(at < expiry for at, expiry in served), "an Azure token was served after it expired"
    assert len(id_tokens.fetched) == len(set(id_tokens.fetched)) == lab.counts()["entra.token"]
    assert len(id_tokens.fetched) >= RUN_S // LIFETIME_S
