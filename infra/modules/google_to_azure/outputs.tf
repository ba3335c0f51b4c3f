output "client_id" {
  description = "The app registration's client ID (the Cloud Function's AZURE_CLIENT_ID)."
  value       = azuread_application.this.client_id
}

output "service_principal_object_id" {
  description = "Object ID of the app's service principal (the principal of the role assignment)."
  value       = azuread_service_principal.this.object_id
}

output "federated_credential" {
  description = "What Entra matches the Google ID token against: issuer, subject and audiences."
  value = {
    issuer    = azuread_application_federated_identity_credential.google.issuer
    subject   = azuread_application_federated_identity_credential.google.subject
    audiences = azuread_application_federated_identity_credential.google.audiences
  }
}

output "role_assignment" {
  description = "The data-plane role the app's service principal holds, and on which scope."
  value = {
    scope = azurerm_role_assignment.reader.scope
    role  = azurerm_role_assignment.reader.role_definition_name
  }
}
