"""The offline lab: both clouds' identity services, BigQuery and Blob Storage on loopback.

``from lab import Lab`` starts the whole federation (see :class:`lab.core.runtime.Lab`). The folders follow
the hops: ``lab.azure`` (Entra ID, managed identity, the Blob gateway, Azurite), ``lab.gcp`` (STS, IAM
Credentials, the metadata server, OAuth 2.0, BigQuery), ``lab.core`` (the harness: services, controls,
trace, keys, wire errors, topology, processes), ``lab.hosting`` (running the two functions) and
``lab.scenarios`` (the demo, the misconfiguration catalogue).

``Lab`` is imported on first use, so that a function process importing ``lab.hosting`` does not pay for
the emulators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.core.runtime import Lab

__all__ = ["Lab"]


def __getattr__(name: str) -> Any:
    if name == "Lab":
        from lab.core.runtime import Lab

        return Lab
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
