"""Render docs/TROUBLESHOOTING.md from the misconfiguration matrix (``lab.scenarios.misconfigurations``).

``python -m tools.troubleshooting`` rewrites the file; a test fails when it is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lab.scenarios.misconfigurations import CLOUD_FUNCTION, MISCONFIGURATIONS

DOC = Path(__file__).resolve().parent.parent / "docs" / "TROUBLESHOOTING.md"

HEADER = """# Troubleshooting

Start with doctor, where the function runs: it checks every hop, shows the claims that matter
and names the fix (`python -m shared doctor azure-to-google` or `google-to-azure` where the function runs; `make doctor-azure-to-google` or `make doctor-google-to-azure` against the lab; see the README).

Every error either function returns is JSON, and says what to change:

```json
{"error": {"status": 403, "code": "federation_refused", "hop": "entra.token", "upstream_code": "AADSTS700213",
           "message": "Entra ID: no federated identity credential on app … matches the assertion's subject (iss=…, sub=…, aud=…) …",
           "fix": "set the federated credential's subject to the service account's numeric unique ID (not its e-mail).",
           "request_id": "…"}}
```

`hop` is where it failed: `settings` (before any call), `azure.msi` (the managed identity),
`entra.token`, `gcp.metadata`, `gcp.sts`, `gcp.iam`, or the data call (`azure.data`,
`google.data`). `upstream_code` is the cloud's own code, for searching its docs; the
function's log line for the request (same `request_id`) has the same fields.

## The mistakes people make, and what each one looks like

Each row is a case of `tests/test_misconfig_matrix.py`: made in the offline lab, answered by
the real function with exactly this status, hop and code, and named by doctor at the same hop
(`tests/test_doctor.py`). (This table is generated from that list: `python -m tools.troubleshooting`.)

"""

FOOTER = """
## When a cloud is down, not misconfigured

- **503 `unavailable`, with `Retry-After`**: a hop kept answering 408, 429 or 5xx, resetting the
  connection or not answering, through every retry, until `FEDERATION_RETRY_DEADLINE_S` (default
  10 s) ran out — or it asked for a `Retry-After` longer than the time left. Retry after the
  header's seconds; nothing needs changing. `hop` says which cloud.
- **Slow first request, then fast ones**: the first request of an instance fetches the tokens
  (two or three round trips); later ones reuse them, and a background refresh replaces them
  before they expire without making any request wait.

## Still stuck

- Role assignments, federated credentials and IAM bindings can take a few minutes to apply:
  a 403 right after `terraform apply` often clears on its own.
- Check the claims: the error message shows the `iss`, `sub` and `aud` the other side saw. For
  Google → Azure, `sub` must equal the federated credential's subject (the service account's
  numeric unique ID). For Azure → Google, `iss` and `aud` must match the provider's issuer and
  allowed audiences, and `oid` must pass its attribute condition.
"""


def render() -> str:
    rows = [
        "| # | function | the mistake | what the caller gets | hop | what to change |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for number, case in enumerate(MISCONFIGURATIONS, 1):
        function = "Cloud Function" if case.function == CLOUD_FUNCTION else "Azure Function"
        code = f" `{case.upstream_code}`" if case.upstream_code else ""
        rows.append(
            f"| {number} | {function} | {case.mistake} | {case.status}{code} | `{case.hop}` | {case.change} |"
        )
    return HEADER + "\n".join(rows) + "\n" + FOOTER


def main() -> int:
    DOC.write_text(render())
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
