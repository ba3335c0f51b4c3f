output "client_id" {
  description = "The app registration's client ID (the Cloud Function's AZURE_CLIENT_ID)."
  value       = azuread_application.this.client_id
}

output "service_principal_object_id" {
  description = "Object ID of the app's service principal (the principal of the role assignment)."
  value       = azuread_service_principal.this.object_id
}
