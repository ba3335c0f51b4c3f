output "provider_name" {
  description = "projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<ID> (GCP_WORKLOAD_IDENTITY_PROVIDER)."
  value       = local.provider_name
}

output "pool_id" {
  description = "The pool's ID, with its suffix."
  value       = local.pool_id
}

output "azure_token_audience" {
  description = "The audience the Azure token must carry (AZURE_TOKEN_AUDIENCE)."
  value       = local.audience
}

output "service_account_email" {
  description = "The impersonated service account (GCP_SERVICE_ACCOUNT), or empty for direct resource access."
  value       = var.impersonate_service_account ? local.service_account : ""
}

output "principals" {
  description = "The principal:// members of the allowed Azure identities, by name."
  value       = local.principals
}
