"""The scans ``make security`` runs can fail: a planted secret or an unsafe call is found.

Both plants are generated at run time in a temporary folder: the repository holds no secret,
not even a sample one.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def test_the_secret_scan_finds_a_planted_secret(tmp_path: Path) -> None:
    planted = tmp_path / "settings.py"
    planted.write_text(f'AZURE_CLIENT_SECRET = "{secrets.token_urlsafe(32)}"\n')

    result = subprocess.run(
        [BIN / "detect-secrets-hook", "--baseline", ROOT / ".secrets.baseline", planted],
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "Secret Keyword" in result.stdout or "High Entropy" in result.stdout


def test_bandit_finds_a_shell_injection(tmp_path: Path) -> None:
    planted = tmp_path / "handler.py"
    planted.write_text("import subprocess\n\ndef run(name):\n    subprocess.call('ls ' + name, shell=True)\n")

    result = subprocess.run(
        [BIN / "bandit", "-q", "-s", "B105,B311", str(planted)], capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "B602" in result.stdout
