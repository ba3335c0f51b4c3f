# Google -> Azure: an Entra app registration that trusts one Google service account, with no
# secret. The Cloud Function presents a Google ID token (iss https://accounts.google.com,
# sub = the service account's numeric unique ID, aud api://AzureADTokenExchange) as its client
# assertion; Entra matches all three exactly (the subject case-sensitively) against the
# federated identity credential below.

resource "azuread_application" "this" {
  display_name     = var.display_name
  sign_in_audience = "AzureADMyOrg"
}

resource "azuread_service_principal" "this" {
  client_id = azuread_application.this.client_id
}

resource "azuread_application_federated_identity_credential" "google" {
  # checkov:skip=CKV_AZURE_249:The issuer is Google, not GitHub; the subject is a service account's numeric unique ID, not a repository.
  application_id = azuread_application.this.id
  display_name   = coalesce(var.federated_credential_name, "google-service-account-${var.service_account_unique_id}")
  description    = "The Cloud Function's runtime service account (Google ID token, no secret)."
  issuer         = "https://accounts.google.com"
  subject        = var.service_account_unique_id
  audiences      = ["api://AzureADTokenExchange"]
}

resource "azurerm_role_assignment" "reader" {
  scope                = var.storage_container_scope
  role_definition_name = var.storage_role_definition_name
  principal_id         = azuread_service_principal.this.object_id
  principal_type       = "ServicePrincipal"
}
