"""Both entrypoints, loaded fresh (a new instance) and called in-process as their hosts call them.

Every response is checked for tokens: no body or header may carry one the lab handed out.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
import functions_framework
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from lab.scenarios.misconfigurations import CLOUD_FUNCTION, Misconfiguration

ROOT = Path(__file__).resolve().parents[2]


def apply_settings(monkeypatch: pytest.MonkeyPatch, settings: Mapping[str, str | None]) -> None:
    """Set each setting in the environment; ``None`` removes it."""
    for name, value in settings.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def make_mistake(lab: Lab, monkeypatch: pytest.MonkeyPatch, case: Misconfiguration, **extra: str) -> None:
    """Give the function of ``case`` its healthy settings, then make the mistake (settings and topology)."""
    healthy = cloud_function_settings(lab) if case.function == CLOUD_FUNCTION else function_app_settings(lab)
    apply_settings(monkeypatch, {**healthy, **extra, **case.settings(lab)})
    case.break_topology(lab)  # after reading the healthy settings: they are derived from the topology


def assert_no_token(lab: Lab, *texts: str) -> None:
    leaked = [secret for secret in lab.minted() if any(secret in text for text in texts)]
    assert not leaked, "a response carried a token the lab handed out"


class CloudFunctionClient(FlaskClient):
    """Flask's test client for the Cloud Function, failing any response that carries a token."""

    lab: Lab

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        assert_no_token(self.lab, response.get_data(as_text=True), str(response.headers))
        return response


def cloud_function(lab: Lab) -> CloudFunctionClient:
    """A new Cloud Function instance (settings are read from the environment on first use)."""
    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        target="list_blobs", source=str(ROOT / "gcp_function" / "main.py")
    )
    app.test_client_class = CloudFunctionClient
    client = app.test_client()
    assert isinstance(client, CloudFunctionClient)
    client.lab = lab
    return client


@dataclasses.dataclass
class FunctionApp:
    """A new Function App instance; calling it invokes the trigger as the Functions host does."""

    lab: Lab
    module: ModuleType

    def __post_init__(self) -> None:
        self.functions = self.module.app.get_functions()  # indexes the app (once, as the worker does)

    def __call__(self, **params: str) -> tuple[int, dict[str, Any], func.HttpResponse]:
        function = self.functions[0].get_user_function()
        request = func.HttpRequest("GET", "http://localhost/api/bigquery", params=params, body=b"")
        context = dataclasses.make_dataclass("Context", ["invocation_id"])(uuid.uuid4().hex)
        response = function(request, context)
        body = response.get_body().decode()
        assert_no_token(self.lab, body, str(dict(response.headers)))
        return response.status_code, json.loads(body), response


def function_app(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> FunctionApp:
    spec = importlib.util.spec_from_file_location(
        "function_app_instance", ROOT / "azure_function" / "function_app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return FunctionApp(lab, module)
