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
  description = "App Service plan SKU: FC1 (Flex Consumption) or EP1-EP3 (Elastic Premium)."
  default     = "FC1"

  validation {
    condition     = contains(["FC1", "EP1", "EP2", "EP3"], var.plan_sku)
    error_message = "plan_sku: FC1 (Flex Consumption) or EP1, EP2, EP3 (Elastic Premium). Y1 (Linux Consumption) retires on 2028-09-30."
  }
}

variable "maximum_instance_count" {
  type        = number
  description = "Flex Consumption: the most instances the app scales out to (1-1000)."
  default     = 100

  # Scale-out instances (max) 1000 (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan);
  # `az functionapp scale config set --maximum-instance-count 5` is the CLI's own example
  # (https://learn.microsoft.com/cli/azure/functionapp/scale/config).
  validation {
    condition     = var.maximum_instance_count >= 1 && var.maximum_instance_count <= 1000 && floor(var.maximum_instance_count) == var.maximum_instance_count
    error_message = "maximum_instance_count: a whole number from 1 to 1000 (Flex Consumption scales out to at most 1000 instances)."
  }
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
