variable "display_name" {
  type        = string
  description = "Display name of the app registration the Cloud Function signs in as."
}

variable "service_account_unique_id" {
  type        = string
  description = "The Google service account's numeric unique ID (the ID token's sub). Not its e-mail: Entra would answer AADSTS70021."

  validation {
    condition     = can(regex("^[0-9]{21}$", var.service_account_unique_id))
    error_message = "service_account_unique_id must be the 21-digit unique ID (google_service_account.unique_id), not the e-mail."
  }
}

variable "storage_container_scope" {
  type        = string
  description = "Resource Manager ID of the container the app may read: the narrowest scope that works."
}

variable "storage_role_definition_name" {
  type        = string
  description = "Data-plane role on the container; read-only by default."
  default     = "Storage Blob Data Reader"
}

variable "federated_credential_name" {
  type        = string
  description = "Name of the federated identity credential; null: google-service-account-<unique id>."
  default     = null

  # federatedIdentityCredential name: "3-120 characters ... alphanumeric, dash, or underscore
  # characters; the first character must be alphanumeric" and unique per application.
  # https://learn.microsoft.com/graph/api/resources/federatedidentitycredential#properties
  validation {
    condition     = var.federated_credential_name == null || can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$", var.federated_credential_name))
    error_message = "federated_credential_name: 3-120 letters, digits, - or _, starting with a letter or digit."
  }
}

variable "identity_kind" {
  type        = string
  description = "What carries the federated credential: an Entra app registration (needs directory rights) or a user-assigned managed identity (Azure RBAC only)."
  default     = "app_registration"

  validation {
    condition     = contains(["app_registration", "user_assigned_identity"], var.identity_kind)
    error_message = "identity_kind: app_registration or user_assigned_identity."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Resource group of the user-assigned identity (identity_kind = user_assigned_identity)."
  default     = null
}

variable "location" {
  type        = string
  description = "Azure region of the user-assigned identity (identity_kind = user_assigned_identity)."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags of the user-assigned identity."
  default     = {}
}
