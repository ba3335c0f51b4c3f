"""Edits of the running lab's topology that tests use to reproduce misconfigurations."""

from __future__ import annotations

from typing import Any

from lab.core.runtime import Lab
from lab.scenarios.misconfigurations import drop_binding, replace_provider
from tests.support.federation import BLOB_READER_APP

__all__ = ["drop_binding", "replace_blob_reader_fic", "replace_provider"]


def replace_blob_reader_fic(lab: Lab, **changes: Any) -> None:
    lab.edit_federated_credential(BLOB_READER_APP, **changes)
