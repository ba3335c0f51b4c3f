# Everything the deploy commands (README.md, cloudbuild.yaml) and the functions' settings need.

output "gcp_project_id" {
  description = "The Google Cloud project."
  value       = var.gcp_project_id
}

output "gcp_region" {
  description = "The Cloud Function's region."
  value       = var.gcp_region
}

output "cloud_function_name" {
  description = "The Cloud Function's name."
  value       = module.cloud_function.name
}

output "cloud_function_uri" {
  description = "The Cloud Function's URL (call it with an ID token: gcloud auth print-identity-token)."
  value       = module.cloud_function.uri
}

output "cloud_function_service_account" {
  description = "The Cloud Function's runtime service account (gcloud functions deploy --service-account)."
  value       = module.cloud_function.service_account_email
}

output "cloud_function_service_account_unique_id" {
  description = "Its numeric unique ID: the subject of the Azure federated identity credential."
  value       = module.cloud_function.service_account_unique_id
}

output "azure_tenant_id" {
  description = "The Entra tenant (AZURE_TENANT_ID of the Cloud Function)."
  value       = var.azure_tenant_id
}

output "blob_reader_client_id" {
  description = "Client ID of the app registration or user-assigned identity the Cloud Function signs in as (AZURE_CLIENT_ID)."
  value       = module.google_to_azure.client_id
}

output "google_to_azure_identity_kind" {
  description = "app_registration or user_assigned_identity: what blob_reader_client_id names (doctor names it in its fixes)."
  value       = module.google_to_azure.identity_kind
}

output "storage_account_url" {
  description = "The blob endpoint the Cloud Function lists (AZURE_STORAGE_ACCOUNT_URL)."
  value       = module.blob_storage.account_url
}

output "storage_container" {
  description = "The container it lists (AZURE_STORAGE_CONTAINER)."
  value       = var.storage_container_name
}

output "resource_group_name" {
  description = "The Azure resource group."
  value       = azurerm_resource_group.this.name
}

output "function_app_name" {
  description = "The Function App (az functionapp deployment source config-zip -n <name>)."
  value       = module.azure_function.name
}

output "function_app_hostname" {
  description = "The Function App's host name; the function is https://<hostname>/api/bigquery."
  value       = module.azure_function.hostname
}

output "function_app_principal_id" {
  description = "Object ID of the Function App's managed identity (the Google principal's subject)."
  value       = module.azure_function.principal_id
}

output "workload_identity_provider" {
  description = "projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<ID> (GCP_WORKLOAD_IDENTITY_PROVIDER)."
  value       = module.azure_to_google.provider_name
}

output "azure_token_audience" {
  description = "The audience of the Azure tokens Google STS accepts (AZURE_TOKEN_AUDIENCE)."
  value       = module.azure_to_google.azure_token_audience
}

output "bigquery_service_account" {
  description = "The service account the Azure Function impersonates (GCP_SERVICE_ACCOUNT); empty for direct resource access."
  value       = module.azure_to_google.service_account_email
}

output "google_principals" {
  description = "The principal:// members of the Azure identities, as IAM bindings must name them."
  value       = module.azure_to_google.principals
}
