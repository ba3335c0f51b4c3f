"""Real-world case, kind 5: no exception from an SDK on our paths escapes untranslated.

The example: a custom ``id_tokens=`` supplier (the README invites them) that returns the
ID-token *response body* ``{"token": "…"}`` instead of the JWT. google-auth's ``jwt.decode``
raised (``MalformedError`` or ``binascii.Error``, by the body), which escaped, and a function
answered 500 ``internal`` with no advice. The sibling found here: a custom ``azure_credential``
for Azure -> Google whose ``AccessToken.token`` is not a JWT (bytes, or an MSI response body)
escaped the same way from the subject-token supplier.

And the kind: every exception class google-auth, azure-core, azure-identity, msal, requests,
urllib3, google-api-core and the storage client define maps to a contract error with a hop and a
fix, never 500 ``internal`` (a test enumerates them from the modules themselves).
"""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from google.auth.transport.requests import Request

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from shared import errors
from shared.azure_to_google import google_credentials
from shared.functions.http import error_reply
from shared.google_id_tokens import MetadataIdTokens
from shared.google_to_azure import GoogleFederatedCredential
from tests.support.entrypoints import apply_settings
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig
STORAGE = "https://storage.azure.com/.default"


class ResponseBodySupplier:
    """A supplier that returns what the metadata server's sibling API, generateIdToken, answers."""

    def get_id_token(self, audience: str, request: Any) -> str:
        return json.dumps({"token": MetadataIdTokens().get_id_token(audience, request)})


def assert_contract(error: BaseException, *, hop: str, says: str) -> dict[str, Any]:
    body = dict(error_reply(error, request_id="test").body["error"])
    assert body["code"] != "internal" and body["status"] != 500, body
    assert body["hop"] == hop and says in body["fix"], body
    return body


def test_the_example_a_supplier_returning_the_response_body(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES})
    credential = GoogleFederatedCredential(id_tokens=ResponseBodySupplier())

    with pytest.raises(errors.GoogleIdTokenError) as refused:
        credential.get_token(STORAGE)

    body = assert_contract(
        refused.value, hop="gcp.id_token", says="not the generateIdToken or metadata response"
    )
    assert "JSON object" in body["message"] and lab.counts().get("entra.token", 0) == 0


def test_a_supplier_that_raises_is_named(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def get_id_token(self, audience: str, request: Any) -> str:
            raise KeyError("token")

    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES})
    with pytest.raises(errors.GoogleIdTokenError) as refused:
        GoogleFederatedCredential(id_tokens=Broken()).get_token(STORAGE)
    body = assert_contract(refused.value, hop="gcp.id_token", says="supplier")
    assert "Broken" in body["message"] and "KeyError" in body["message"]


@pytest.mark.parametrize("token", [b"eyJ.not.str", '{"access_token": "x", "expires_in": 3599}', "opaque"])
def test_the_sibling_an_azure_credential_returning_no_jwt(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, token: Any
) -> None:
    class Custom:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken(token, 2**31)

    apply_settings(monkeypatch, {**function_app_settings(lab), **FAST_RETRIES})
    credentials = google_credentials(azure_credential=Custom())

    with pytest.raises(errors.FederationError) as refused:
        credentials.refresh(Request())

    assert_contract(refused.value, hop="azure.token", says="AccessToken.token")
    assert lab.counts().get("gcp.sts.token", 0) == 0


MODULES = (
    "google.auth.exceptions",
    "azure.core.exceptions",
    "azure.identity",
    "msal.exceptions",
    "requests.exceptions",
    "urllib3.exceptions",
    "google.api_core.exceptions",
    "azure.storage.blob",
)


def sdk_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            # Warnings are issued, not raised: they never reach a function's error handling.
            if (
                issubclass(cls, Exception)
                and not issubclass(cls, Warning)
                and cls.__module__.split(".")[0] in name.split(".")[0]
            ):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[key] for key in sorted(found)]


def instance(cls: type[BaseException]) -> BaseException:
    for args in (("the upstream said no",), ()):
        try:
            return cls(*args)
        except Exception:  # noqa: S112 - try the next signature
            continue
    error = cls.__new__(cls)
    Exception.__init__(error, "the upstream said no")
    return error


@pytest.mark.parametrize("cls", sdk_exceptions(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_sdk_exception_maps_to_a_contract_error(cls: type[BaseException]) -> None:
    body = dict(error_reply(instance(cls), request_id="test").body["error"])

    assert body["code"] != "internal", body
    assert body.get("hop") and body.get("fix"), body


def test_the_enumeration_is_not_empty() -> None:
    names = {cls.__name__ for cls in sdk_exceptions()}
    assert {"MalformedError", "RefreshError", "ServiceRequestError", "CredentialUnavailableError",
            "MsalServiceError", "SSLError", "ProtocolError", "Forbidden"} <= names  # fmt: skip
    assert len(names) > 80
