output "client_id" {
  description = "The client ID the Cloud Function signs in as (its AZURE_CLIENT_ID): the app registration's or the user-assigned identity's."
  value       = local.app_registration ? azuread_application.this[0].client_id : azurerm_user_assigned_identity.this[0].client_id
}

output "service_principal_object_id" {
  description = "Object ID of the principal that holds the storage role: the app's service principal or the identity's principal."
  value       = local.principal_id
}

output "identity_kind" {
  description = "app_registration or user_assigned_identity (doctor reads it as google_to_azure_identity_kind to name the object in its fixes)."
  value       = var.identity_kind
}

output "federated_credential" {
  description = "What Entra matches the Google ID token against: issuer, subject and audiences."
  value = local.app_registration ? {
    issuer    = azuread_application_federated_identity_credential.google[0].issuer
    subject   = azuread_application_federated_identity_credential.google[0].subject
    audiences = tolist(azuread_application_federated_identity_credential.google[0].audiences)
    } : {
    issuer    = azurerm_federated_identity_credential.google[0].issuer
    subject   = azurerm_federated_identity_credential.google[0].subject
    audiences = tolist(azurerm_federated_identity_credential.google[0].audience)
  }
}

output "role_assignment" {
  description = "The data-plane role the app's service principal (or the identity's principal) holds, and on which scope."
  value = {
    scope = azurerm_role_assignment.reader.scope
    role  = azurerm_role_assignment.reader.role_definition_name
  }
}
