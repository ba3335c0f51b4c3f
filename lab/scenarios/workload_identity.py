"""No app registration needed: user-assigned managed identities with federated identity credentials.

Two identities join the default topology (``with_user_assigned_identities``), each an Azure resource that
Azure RBAC alone can create (``azurerm_user_assigned_identity`` + ``azurerm_federated_identity_credential``):

* ``id-gcp-blob-reader`` — Google -> Azure without an app registration: it trusts the Cloud Function's
  service account (issuer ``https://accounts.google.com``, subject its unique ID) and holds
  "Storage Blob Data Reader" on the container; the Cloud Function uses its client ID as AZURE_CLIENT_ID.
* ``id-aks-bigquery-reader`` — Azure -> Google from AKS: it trusts the cluster's service account
  ``system:serviceaccount:analytics:bigquery-reader`` (issuer: the cluster's OIDC issuer); the pool
  provider's condition admits its principal and it may impersonate ``bq-reader``.

The audience of both credentials is ``api://AzureADTokenExchange`` (Microsoft Learn, "Configure a
user-assigned managed identity to trust an external identity provider").
"""

from __future__ import annotations

import dataclasses

from lab.core.topology import (
    AZURE_TOKEN_EXCHANGE_AUDIENCE,
    GOOGLE_ISSUER,
    FederatedIdentityCredential,
    ManagedIdentity,
    RoleAssignment,
    Topology,
)

BLOB_READER_IDENTITY = "id-gcp-blob-reader"
AKS_IDENTITY = "id-aks-bigquery-reader"
AKS_NAMESPACE = "analytics"
AKS_SERVICE_ACCOUNT = "bigquery-reader"
BLOB_READER_CLIENT_ID = "5b0c8f3e-2d7a-4c19-8e6f-1a9d3b7c5e20"
BLOB_READER_PRINCIPAL_ID = "c3e7a1d9-6f24-4b8e-a5c0-9d2f7e1b4a63"
AKS_CLIENT_ID = "8e2d4f6a-1c3b-4a5d-9e7f-0b2c4d6e8f1a"
AKS_PRINCIPAL_ID = "4a6c8e0f-2b4d-4f6a-8c0e-1d3f5a7c9e2b"


def aks_subject(namespace: str = AKS_NAMESPACE, service_account: str = AKS_SERVICE_ACCOUNT) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def with_user_assigned_identities(topology: Topology, aks_issuer: str) -> Topology:
    """``topology`` plus the two user-assigned identities, their role, pool condition and binding."""
    tenant = topology.tenants[0].tenant_id
    runtime_account = topology.service_account(topology.runtime.metadata_service_account)
    assert runtime_account is not None
    blob_reader = ManagedIdentity(
        tenant_id=tenant,
        name=BLOB_READER_IDENTITY,
        client_id=BLOB_READER_CLIENT_ID,
        principal_id=BLOB_READER_PRINCIPAL_ID,
        type="UserAssigned",
        federated_identity_credentials=(
            FederatedIdentityCredential(
                "gcp-cloud-function",
                GOOGLE_ISSUER,
                runtime_account.unique_id,
                (AZURE_TOKEN_EXCHANGE_AUDIENCE,),
            ),
        ),
    )
    aks_reader = ManagedIdentity(
        tenant_id=tenant,
        name=AKS_IDENTITY,
        client_id=AKS_CLIENT_ID,
        principal_id=AKS_PRINCIPAL_ID,
        type="UserAssigned",
        federated_identity_credentials=(
            FederatedIdentityCredential(
                "aks-analytics", aks_issuer, aks_subject(), (AZURE_TOKEN_EXCHANGE_AUDIENCE,)
            ),
        ),
    )
    container_scope = topology.role_assignments[0].scope
    provider = topology.workload_identity_pool_providers[0]
    assert provider.attribute_condition.endswith("]"), "the default condition ends with the oid list"
    condition = provider.attribute_condition.removesuffix("]") + f", '{AKS_PRINCIPAL_ID}']"
    project = topology.project(provider.project_id)
    assert project is not None
    member = (
        f"principal://iam.googleapis.com/projects/{project.number}/locations/global/workloadIdentityPools/"
        f"{provider.workload_identity_pool_id}/subject/{AKS_PRINCIPAL_ID}"
    )
    bindings = [
        dataclasses.replace(b, members=(*b.members, member))
        if b.role == "roles/iam.workloadIdentityUser"
        else b
        for b in topology.iam_bindings
    ]
    return topology.evolve(
        managed_identities=[*topology.managed_identities, blob_reader, aks_reader],
        role_assignments=[
            *topology.role_assignments,
            RoleAssignment(container_scope, "Storage Blob Data Reader", BLOB_READER_PRINCIPAL_ID),
        ],
        workload_identity_pool_providers=[
            dataclasses.replace(provider, attribute_condition=condition),
            *topology.workload_identity_pool_providers[1:],
        ],
        iam_bindings=bindings,
    )
