output "service_account_email" {
  description = "The runtime service account's e-mail."
  value       = google_service_account.runtime.email
}

output "service_account_unique_id" {
  description = "The runtime service account's numeric unique ID: the subject of the Azure federated credential."
  value       = google_service_account.runtime.unique_id
}

output "uri" {
  description = "The function's HTTPS URL (callers need an ID token and roles/run.invoker)."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "name" {
  description = "The function's name."
  value       = google_cloudfunctions2_function.this.name
}

output "invoker_members" {
  description = "The members holding roles/run.invoker on the function's service."
  value       = toset([for m in google_cloud_run_v2_service_iam_member.invoker : m.member])
}
