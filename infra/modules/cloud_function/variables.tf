variable "project_id" {
  type        = string
  description = "Project of the function and its service account."
}

variable "region" {
  type        = string
  description = "Region of the function and its source bucket."
}

variable "name" {
  type        = string
  description = "Function name."
}

variable "service_account_id" {
  type        = string
  description = "Account ID of the dedicated runtime service account."
}

variable "source_dir" {
  type        = string
  description = "The built bundle (main.py, requirements.txt, shared/): `make package` writes build/gcp_function."
}

variable "environment" {
  type        = map(string)
  description = "The function's settings (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_STORAGE_ACCOUNT_URL, AZURE_STORAGE_CONTAINER ...)."
}

variable "ingress" {
  type        = string
  description = "ALLOW_ALL (authenticated callers anywhere), ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  default     = "ALLOW_ALL"
}

variable "invokers" {
  type        = list(string)
  description = "IAM members granted roles/run.invoker on the function's service."
  default     = []

  validation {
    condition     = alltrue([for m in var.invokers : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "invokers must not contain allUsers or allAuthenticatedUsers."
  }
}

variable "max_instances" {
  type        = number
  description = "Upper bound on instances (cost and blast radius)."
  default     = 10
}

variable "labels" {
  type        = map(string)
  description = "Labels for the function and the bucket."
  default     = {}
}
