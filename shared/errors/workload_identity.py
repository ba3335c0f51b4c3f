"""Entra's refusals of a workload identity assertion (AKS projected token in ``AZURE_FEDERATED_TOKEN_FILE``).

The same AADSTS codes as for a Google ID token (:mod:`shared.errors.entra`) mean something else to fix
here: the federated credential on the identity named by ``AZURE_CLIENT_ID`` must carry the cluster's
OIDC issuer URL (``az aks show --query oidcIssuerProfile.issuerUrl``), the subject
``system:serviceaccount:<namespace>:<service account>`` and audience ``api://AzureADTokenExchange``
(Microsoft Learn, "Deploy and configure workload identity on an AKS cluster",
https://learn.microsoft.com/azure/aks/workload-identity-deploy-cluster). The message shows the
assertion's ``iss``/``sub``/``aud`` read from the file, never the token.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.errors.base import EntraRefusal, FederationError

_CREDENTIAL = (
    "the identity AZURE_CLIENT_ID ({client_id}) needs a federated identity credential with issuer = the "
    "cluster's OIDC issuer URL, subject = system:serviceaccount:<namespace>:<service account> of the pod, "
    "audience api://AzureADTokenExchange (az identity federated-credential create; Terraform: "
    "azurerm_federated_identity_credential)"
)

FIXES = {
    "AADSTS70021": _CREDENTIAL + "; the assertion had {assertion}.",
    # 700213: the issuer matches a credential, the subject none (what Entra answers today; older reports show
    # 70021): Azure/login#482, Azure/azure-workload-identity#1200
    "AADSTS700213": "the federated credential on the identity AZURE_CLIENT_ID ({client_id}) must have subject = "
    "the pod's service account exactly, system:serviceaccount:<namespace>:<service account>: {assertion}.",
    "AADSTS700211": "the federated credential's issuer must be the cluster's OIDC issuer URL, with its trailing "
    "slash: {assertion}.",
    "AADSTS700212": "the federated credential's audience must be api://AzureADTokenExchange (the projected "
    "token's audience): {assertion}.",
    "AADSTS7002138": "subjects are case-sensitive: copy the service account subject exactly ({assertion}).",
    "AADSTS70025": _CREDENTIAL + ".",
    "AADSTS700016": "set AZURE_CLIENT_ID to the client ID of the user-assigned identity or app registration "
    "that carries the federated credential (the pod's azure.workload.identity/client-id annotation), in "
    "AZURE_TENANT_ID.",
    "AADSTS700024": "the token in AZURE_FEDERATED_TOKEN_FILE has expired: point the variable at the projected "
    "volume the kubelet rotates, not a copy of it.",
    "AADSTS700027": "the cluster's signing keys changed (az aks oidc-issuer rotate-signing-keys) or the token "
    "is not the cluster's: use the projected token.",
}


def workload_identity_refusal(refusal: FederationError, context: Mapping[str, str]) -> FederationError:
    """``refusal`` (from :func:`shared.errors.entra_refusal_of`) restated for a projected token.

    ``context``: ``client_id`` and ``assertion`` (the claims text). Codes without a restatement pass unchanged.
    """
    fix = FIXES.get(refusal.code or "")
    if fix is None or not isinstance(refusal, EntraRefusal):
        return refusal
    return EntraRefusal(
        f"Entra ID refused the workload identity assertion from AZURE_FEDERATED_TOKEN_FILE ({refusal.code})",
        hop="entra.token",
        fix=fix.format_map({"client_id": "?", "assertion": "?", **context}),
        code=refusal.code,
        status=refusal.status,
        correlation_id=refusal.correlation_id,
    )
