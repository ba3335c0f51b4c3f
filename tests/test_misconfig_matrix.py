"""The misconfiguration matrix: each real-world mistake in ``lab.scenarios.misconfigurations``, made in the lab,
answered by the real function with the status, the refusing hop, the upstream code and an error
that names what to change. ``docs/TROUBLESHOOTING.md`` is rendered from the same list.
"""

from __future__ import annotations

import pytest

from lab.core.runtime import Lab
from lab.scenarios.misconfigurations import CLOUD_FUNCTION, MISCONFIGURATIONS, Misconfiguration
from tests.support import entrypoints
from tests.support.entrypoints import make_mistake
from tests.support.retries import FAST_RETRIES
from tools import troubleshooting

pytestmark = pytest.mark.misconfig


def test_the_matrix_covers_at_least_fifteen_mistakes_in_both_directions() -> None:
    assert len(MISCONFIGURATIONS) >= 15
    assert len({case.key for case in MISCONFIGURATIONS}) == len(MISCONFIGURATIONS)
    assert {case.function for case in MISCONFIGURATIONS} == {"cloud_function", "function_app"}


@pytest.mark.parametrize("case", MISCONFIGURATIONS, ids=lambda case: case.key)
def test_the_function_names_what_to_change(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, case: Misconfiguration
) -> None:
    make_mistake(lab, monkeypatch, case, **FAST_RETRIES)

    if case.function == CLOUD_FUNCTION:
        response = entrypoints.cloud_function(lab).get("/", query_string=dict(case.params))
        status, body = response.status_code, response.get_json()
    else:
        status, body, _ = entrypoints.function_app(lab, monkeypatch)(**dict(case.params))

    error = body["error"]
    assert status == case.status, error
    assert error.get("hop", "settings") == case.hop, error
    assert (error.get("upstream_code") or "") == case.upstream_code, error
    said = f"{error['message']} {error.get('fix', '')} {' '.join(error.get('settings', []))}"
    for name in case.names:
        assert name in said, f"the error should name {name!r}: {said}"


def test_troubleshooting_doc_is_rendered_from_the_matrix() -> None:
    assert troubleshooting.DOC.read_text() == troubleshooting.render(), "run: python -m tools.troubleshooting"
