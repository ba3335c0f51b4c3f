"""Edits of the running lab's topology that tests use to reproduce misconfigurations."""

from __future__ import annotations

import dataclasses
from typing import Any

from lab.runtime import Lab
from lab.topology import IamBinding, WorkloadIdentityPoolProvider
from tests.federation import BLOB_READER_APP


def replace_blob_reader_fic(lab: Lab, **changes: Any) -> None:
    lab.edit_federated_credential(BLOB_READER_APP, **changes)


def replace_provider(lab: Lab, **changes: Any) -> None:
    providers: list[WorkloadIdentityPoolProvider] = [
        dataclasses.replace(p, **changes) for p in lab.topology_now().workload_identity_pool_providers
    ]
    lab.break_topology(workload_identity_pool_providers=providers)


def drop_binding(lab: Lab, role: str, resource_prefix: str = "") -> None:
    bindings: list[IamBinding] = [
        b
        for b in lab.topology_now().iam_bindings
        if not (b.role == role and b.resource.startswith(resource_prefix))
    ]
    lab.break_topology(iam_bindings=bindings)
