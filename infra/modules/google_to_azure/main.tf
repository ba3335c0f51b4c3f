# Google -> Azure: an Entra identity that trusts one Google service account, with no secret. The
# Cloud Function presents a Google ID token (iss https://accounts.google.com, sub = the service
# account's numeric unique ID, aud api://AzureADTokenExchange) as its client assertion; Entra matches
# all three exactly (the subject case-sensitively) against the federated identity credential below.
#
# identity_kind picks the object that carries the credential:
#   app_registration        an Entra app registration + service principal (needs directory rights:
#                           Application Administrator / Developer, or Application.ReadWrite.OwnedBy)
#   user_assigned_identity  a user-assigned managed identity, an Azure resource created with Azure RBAC
#                           alone (Managed Identity Contributor on the resource group); Entra accepts
#                           federated credentials on it and the same client-assertion exchange yields
#                           a token for the identity. https://learn.microsoft.com/entra/workload-id/
#                           workload-identity-federation-create-trust-user-assigned-managed-identity
# Either way the Cloud Function's AZURE_CLIENT_ID is the object's client ID, and the storage role goes
# to its principal.

locals {
  app_registration = var.identity_kind == "app_registration"
  credential_name  = coalesce(var.federated_credential_name, "google-service-account-${var.service_account_unique_id}")
  principal_id     = local.app_registration ? azuread_service_principal.this[0].object_id : azurerm_user_assigned_identity.this[0].principal_id
}

resource "azuread_application" "this" {
  count            = local.app_registration ? 1 : 0
  display_name     = var.display_name
  sign_in_audience = "AzureADMyOrg"
}

resource "azuread_service_principal" "this" {
  count     = local.app_registration ? 1 : 0
  client_id = azuread_application.this[0].client_id
}

resource "azuread_application_federated_identity_credential" "google" {
  # checkov:skip=CKV_AZURE_249:The issuer is Google, not GitHub; the subject is a service account's numeric unique ID, not a repository.
  count          = local.app_registration ? 1 : 0
  application_id = azuread_application.this[0].id
  display_name   = local.credential_name
  description    = "The Cloud Function's runtime service account (Google ID token, no secret)."
  issuer         = "https://accounts.google.com"
  subject        = var.service_account_unique_id
  audiences      = ["api://AzureADTokenExchange"]
}

resource "azurerm_user_assigned_identity" "this" {
  count               = local.app_registration ? 0 : 1
  name                = var.display_name
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.resource_group_name != null && var.location != null
      error_message = "identity_kind = user_assigned_identity needs resource_group_name and location."
    }
    # Microsoft.ManagedIdentity/userAssignedIdentities: 3-128 alphanumerics, hyphens and underscores,
    # starting with a letter or digit. https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
    precondition {
      condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$", var.display_name))
      error_message = "display_name is the identity's name here: 3-128 letters, digits, - or _, starting with a letter or digit."
    }
  }
}

# azurerm 5 names the identity user_assigned_identity_id (azurerm 4: parent_id + resource_group_name).
resource "azurerm_federated_identity_credential" "google" {
  count                     = local.app_registration ? 0 : 1
  name                      = local.credential_name
  user_assigned_identity_id = azurerm_user_assigned_identity.this[0].id
  issuer                    = "https://accounts.google.com"
  subject                   = var.service_account_unique_id
  audience                  = ["api://AzureADTokenExchange"]
}

resource "azurerm_role_assignment" "reader" {
  scope                = var.storage_container_scope
  role_definition_name = var.storage_role_definition_name
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal" # a managed identity's principal is a service principal too
}
