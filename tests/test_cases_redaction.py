"""Real-world case, kind 1: redaction recognises secrets by their shape and their field, never by the
word before them.

The example: ``redact("Google ID token: fetch a fresh one")`` ate the word "fetch" (and with it
the AADSTS700024 fix and the metadata server's error text). The sibling found here: the
AADSTS50027 fix ("not an ID token: check GOOGLE_ID_TOKEN_SOURCE") lost its verb the same way,
and a repr of request headers (``{'X-IDENTITY-HEADER': '…'}``, the App Service managed identity
secret) went through untouched. Properties: prose passes unchanged; every secret the lab mints is
caught in every context it can appear in (a form field, JSON, a Python repr, an ``Authorization``
header), and the self-describing ones (JWTs, PEM keys) wherever they stand.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from lab.scenarios.misconfigurations import MISCONFIGURATIONS
from shared import doctor, errors
from shared.functions.http import DATA_PLANE_FIXES
from shared.redaction import REDACTED, redact
from tests.support.entrypoints import apply_settings
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig


def test_the_example_google_id_token_prose_is_unchanged() -> None:
    assert redact("Google ID token: fetch a fresh one") == "Google ID token: fetch a fresh one"


def test_every_fix_text_that_reaches_users_is_unchanged() -> None:
    texts = [entry.fix for entry in errors.AADSTS.values()]
    texts += [entry.meaning for entry in errors.AADSTS.values()]
    texts += list(DATA_PLANE_FIXES.values())
    texts += [case.change for case in MISCONFIGURATIONS] + [case.mistake for case in MISCONFIGURATIONS]
    texts += [
        "the metadata server gave no ID token: failed to retrieve http://127.0.0.1:9/computeMetadata/v1/...",
        "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        "the client secret: set AZURE_CLIENT_SECRET to the secret's value (not its ID).",
        "Bearer tokens are sent over https only",
        "upstream code=AADSTS70021, request_id=0f0f0f0f000040008000000000000000",
    ]
    changed = [text for text in texts if redact(text) != text]
    assert not changed, changed


def test_the_sibling_50027_fix_keeps_its_verb() -> None:
    fix = errors.AADSTS[50027].fix
    assert "check GOOGLE_ID_TOKEN_SOURCE" in redact(fix)


def test_the_sibling_a_header_repr_loses_the_identity_header() -> None:
    secret = "kX3v9QmZ0bP4tR7wY2eH6jN8cL1sA5dF"  # pragma: allowlist secret  # the lab's shape, made up
    text = f"headers={{'X-IDENTITY-HEADER': '{secret}', 'Metadata': 'true'}}"
    assert secret not in redact(text) and "'Metadata': 'true'" in redact(text)


# -- properties ---------------------------------------------------------------------------------

# Words as prose has them: letters, digits, short; punctuation between them but no quotes or '=',
# which would make a word a field's value.
WORD = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=15)
KEYWORD = st.sampled_from(
    ["token", "token:", "Token", "ID", "Bearer", "secret", "secret:", "assertion:", "password:",
     "client_secret", "access_token", "client_assertion", "key", "code", "fetch", "Authorization:",
     "X-IDENTITY-HEADER value", "eyJ", "ya29", "Q~"]
)  # fmt: skip
SEPARATOR = st.sampled_from([" ", ", ", ": ", "; ", ". ", " (", ") ", " - ", "\n", " / "])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(WORD | KEYWORD, SEPARATOR), max_size=30))
def test_prose_passes_unchanged(words: list[tuple[str, str]]) -> None:
    text = "".join(word + separator for word, separator in words)
    assert redact(text) == text


def contexts(secret: str) -> list[str]:
    """Every place a credential shows up in a message or log line."""
    return [
        f"client_assertion={secret}&client_id=x",
        f"grant_type=client_credentials&client_secret={secret}",
        f"POST /token?x=1&access_token={secret}",
        json.dumps({"access_token": secret, "expires_in": 3599}),
        json.dumps({"token": secret}),
        repr({"subject_token": secret, "audience": "//iam.googleapis.com/x"}),
        repr({"Authorization": f"Bearer {secret}"}),
        repr({"X-IDENTITY-HEADER": secret}),
        f"Authorization: Bearer {secret}",
        f"x-identity-header: {secret}",
        f"GET https://func.example/api/bigquery?code={secret}&query=current_date",
    ]


def self_describing(secret: str) -> bool:
    return secret.startswith("eyJ") or "PRIVATE KEY" in secret


def assert_caught(secret: str) -> None:
    texts = contexts(secret)
    if self_describing(secret):
        texts += [secret, f"got {secret} from the metadata server", f"({secret})"]
    for text in texts:
        cleaned = redact(text)
        assert secret not in cleaned, text[:120]
        for line in secret.splitlines():
            assert len(line) < 20 or line not in cleaned, text[:120]
        assert redact(cleaned) == cleaned


def test_every_secret_the_lab_minted_is_caught(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Tokens of every kind the lab hands out: Entra v1 and v2 access tokens, Google ID tokens,
    STS and IAM access tokens, the managed identity header, a client secret and a key file's PEM."""
    apply_settings(monkeypatch, {**function_app_settings(lab), **FAST_RETRIES})
    assert all(v.ok for v in doctor.run(doctor.AZURE_TO_GOOGLE))
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES})
    assert all(v.ok for v in doctor.run(doctor.GOOGLE_TO_AZURE))
    developer = next(a for a in lab.topology.applications if a.password)
    lab.client_secret(developer.client_id)
    account = lab.topology.runtime.metadata_service_account
    lab.service_account_key_file(account, tmp_path / "key.json")

    minted = lab.minted()
    assert any(s.startswith("eyJ") for s in minted) and any("PRIVATE KEY" in s for s in minted)
    assert any(not self_describing(s) for s in minted)
    for secret in minted:
        assert_caught(secret)


TOKEN68 = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=16, max_size=80)


@settings(max_examples=300, deadline=None)
@given(TOKEN68)
def test_any_opaque_credential_in_a_field_is_caught(value: str) -> None:
    assume(not any(value in text for text in contexts("\x00")))  # not part of the field's own name
    looks_like_one = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    for text in contexts(value):
        if "Bearer" in text and not looks_like_one:
            continue  # "Bearer lowercasewords" is prose, by design: a credential has letters and digits
        assert value not in redact(text), text


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(alphabet=string.ascii_letters + string.digits + "_.~-", min_size=3, max_size=3),
       version=st.sampled_from("78"),
       rest=st.text(alphabet=string.ascii_letters + string.digits + "_.~-", min_size=31, max_size=34))  # fmt: skip
def test_an_entra_client_secret_is_caught_bare(prefix: str, version: str, rest: str) -> None:
    secret = f"{prefix}{version}Q~{rest}"
    assert secret not in redact(f"the secret {secret} expired")
    assert REDACTED in redact(secret)
