variable "name" {
  type        = string
  description = "Function App name (<name>.azurewebsites.net)."
}

variable "resource_group_name" {
  type        = string
  description = "Resource group for the app, its plan, storage and monitoring."
}

variable "location" {
  type        = string
  description = "Azure region."
}

variable "storage_account_name" {
  type        = string
  description = "The app's runtime storage account (AzureWebJobsStorage)."
}

variable "plan_sku" {
  type        = string
  description = "App Service plan SKU: Y1 (Consumption) or EP1-EP3 (Elastic Premium)."
  default     = "Y1"
}

variable "app_settings" {
  type        = map(string)
  description = "The function's settings: the federation's (GCP_WORKLOAD_IDENTITY_PROVIDER, AZURE_TOKEN_AUDIENCE, GCP_SERVICE_ACCOUNT) and BigQuery's."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}
