"""Async credentials (azure-core ``AsyncTokenCredential``), mirroring :mod:`shared`'s sync ones."""

from shared.aio.google_to_azure import GoogleFederatedCredential

__all__ = ["GoogleFederatedCredential"]
