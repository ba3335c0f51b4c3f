output "account_url" {
  description = "The blob endpoint, https://<account>.blob.core.windows.net (AZURE_STORAGE_ACCOUNT_URL)."
  value       = trimsuffix(azurerm_storage_account.this.primary_blob_endpoint, "/")
}

output "container_id" {
  description = "Resource Manager ID of the container: the scope of the Cloud Function's role assignment."
  value       = azurerm_storage_container.this.id
}
