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

output "oidc" {
  description = "The pool provider's OIDC trust: issuer_uri and allowed_audiences (they follow the token version)."
  value       = google_iam_workload_identity_pool_provider.entra.oidc[0]
}

output "bigquery_role_members" {
  description = "Who holds roles/bigquery.jobUser on the project and roles/bigquery.dataViewer on the dataset."
  value = {
    job_user    = toset([for m in google_project_iam_member.bigquery_job_user : m.member])
    data_viewer = toset([for m in google_bigquery_dataset_iam_member.data_viewer : m.member])
    dataset     = toset([for m in google_bigquery_dataset_iam_member.data_viewer : m.dataset_id])
  }
}

output "workload_identity_users" {
  description = "The principal:// members allowed to impersonate the service account (empty for direct resource access)."
  value       = toset([for m in google_service_account_iam_member.workload_identity_user : m.member])
}
