"""Which Entra object the Cloud Function signs in as, and the fixes that name it.

``AZURE_CLIENT_ID`` is the client ID of an app registration (with a service principal) or of a
user-assigned managed identity: both take federated identity credentials and the same
client-assertion exchange (Microsoft Learn, "Configure a user-assigned managed identity to trust an
external identity provider", https://learn.microsoft.com/entra/workload-id/
workload-identity-federation-create-trust-user-assigned-managed-identity). Entra's refusals do not say
which it is, so doctor learns it from Terraform's outputs (``google_to_azure_identity_kind``) or from
``--identity``, and then names the object the operator must change: a managed identity is created
and given its federated credential with Azure RBAC (``az identity federated-credential create``,
``azurerm_federated_identity_credential``), not in the app registrations blade.
"""

from __future__ import annotations

import dataclasses
from typing import Any

APP_REGISTRATION = "app_registration"
USER_ASSIGNED_IDENTITY = "user_assigned_identity"
KINDS = (APP_REGISTRATION, USER_ASSIGNED_IDENTITY)
OUTPUT_NAME = "google_to_azure_identity_kind"

_CREDENTIAL = (
    "add a federated identity credential to the user-assigned managed identity {client_id} "
    "(az identity federated-credential create --identity-name <name> --resource-group <rg> "
    "--issuer https://accounts.google.com --subject <the service account's unique ID> "
    "--audiences api://AzureADTokenExchange; Terraform: azurerm_federated_identity_credential with "
    "parent_id = the identity)"
)

# Entra's codes (shared.errors.entra) whose fix names the object, restated for a managed identity.
USER_ASSIGNED_FIXES = {
    "AADSTS700016": "set AZURE_CLIENT_ID to the user-assigned managed identity's client ID (az identity show "
    "--query clientId), not its principal ID, and AZURE_TENANT_ID to its tenant.",
    "AADSTS70021": _CREDENTIAL + "; issuer, subject and audience must match the assertion exactly.",
    "AADSTS700213": "the federated credential on the user-assigned managed identity {client_id} must have the "
    "service account's numeric unique ID as subject (not its e-mail).",
    "AADSTS700211": _CREDENTIAL + ": no credential on it has issuer https://accounts.google.com.",
    "AADSTS700212": "the federated credential on the user-assigned managed identity {client_id} must have "
    "audience api://AzureADTokenExchange (or set GOOGLE_ID_TOKEN_AUDIENCE to its audience).",
    "AADSTS7002138": "subjects are case-sensitive: copy the subject exactly into the user-assigned managed "
    "identity's federated credential.",
    "AADSTS70025": _CREDENTIAL + ".",
    "AuthorizationPermissionMismatch": "assign 'Storage Blob Data Reader' on the container to the user-assigned "
    "managed identity's principal ID (az identity show --query principalId; Terraform: "
    "azurerm_role_assignment with principal_id = the identity's principal_id); new assignments take a few "
    "minutes to apply.",
}


def object_name(kind: str, client_id: str) -> str:
    """How doctor names the object with ``client_id``."""
    if kind == USER_ASSIGNED_IDENTITY:
        return f"the user-assigned managed identity {client_id}"
    return f"app {client_id}"


def for_identity(verdict: Any, kind: str, client_id: str) -> Any:
    """``verdict`` with its fix naming the managed identity, when ``kind`` is one and the code has a fix."""
    if kind != USER_ASSIGNED_IDENTITY or not verdict.code or verdict.code not in USER_ASSIGNED_FIXES:
        return verdict
    return dataclasses.replace(verdict, fix=USER_ASSIGNED_FIXES[verdict.code].format(client_id=client_id))
