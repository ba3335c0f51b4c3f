variable "project_id" {
  type        = string
  description = "Project of the pool, the service account and the BigQuery jobs."
}

variable "project_number" {
  type        = string
  description = "That project's number (the provider's resource name and the principal:// members use the number)."

  validation {
    condition     = can(regex("^[0-9]+$", var.project_number))
    error_message = "project_number is the numeric project number, not the project ID."
  }
}

variable "tenant_id" {
  type        = string
  description = "The Entra tenant whose tokens the provider trusts."
}

variable "token_version" {
  type        = number
  description = "Access token version of the audience app (1 or 2); decides the provider's issuer and audience."
  default     = 1
}

variable "audience_app_display_name" {
  type        = string
  description = "Display name of the audience app registration."
}

variable "pool_id" {
  type        = string
  description = "Base ID of the workload identity pool."
}

variable "pool_id_random_suffix" {
  type        = bool
  description = "Append a random -xxxx to the pool ID (pools are soft-deleted for 30 days)."
  default     = true
}

variable "provider_id" {
  type        = string
  description = "ID of the OIDC provider."
}

variable "allowed_principals" {
  type        = map(string)
  description = "The Azure identities allowed through, name => object ID (the attribute condition and the principal:// members)."

  validation {
    condition     = length(var.allowed_principals) > 0
    error_message = "allowed_principals must name at least one identity: an empty condition would admit the whole tenant."
  }
}

variable "service_account_id" {
  type        = string
  description = "Account ID of the service account to impersonate (when impersonate_service_account)."
}

variable "impersonate_service_account" {
  type        = bool
  description = "Impersonate a service account (true) or grant the roles to the principals directly (false)."
  default     = true
}

variable "bigquery_dataset_id" {
  type        = string
  description = "Dataset the identity may read (roles/bigquery.dataViewer)."
}
