# -- Google Cloud ------------------------------------------------------------------------------

variable "gcp_project_id" {
  type        = string
  description = "The Google Cloud project that holds the pool, the service accounts, BigQuery jobs and the Cloud Function (its ID, not its number: the number is looked up)."

  # projectId: "6 to 30 lowercase ASCII letters, digits, or hyphens. It must start with a letter.
  # Trailing hyphens are prohibited." https://cloud.google.com/resource-manager/reference/rest/v3/projects
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.gcp_project_id))
    error_message = "gcp_project_id must be a project ID (not its number): 6-30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen."
  }
}

variable "gcp_region" {
  type        = string
  description = "Region of the Cloud Function and its source bucket."
  default     = "europe-west1"
}

variable "workload_identity_pool_id" {
  type        = string
  description = "Base ID of the workload identity pool. A random suffix is added (see pool_id_random_suffix): deleted pools stay reserved for 30 days."
  default     = "azure-federation"

  # workloadIdentityPoolId: "4-32 characters, and may contain the characters [a-z0-9-]. The prefix
  # `gcp-` is reserved for use by Google, and may not be specified."
  # https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools/create
  # 27 leaves room for the "-xxxx" suffix (pool_id_random_suffix).
  validation {
    condition     = can(regex("^[a-z0-9-]{4,27}$", var.workload_identity_pool_id)) && !startswith(var.workload_identity_pool_id, "gcp-")
    error_message = "workload_identity_pool_id: 4-27 characters of [a-z0-9-] (the API allows 32; 5 are kept for the -xxxx suffix), and the prefix gcp- is reserved by Google."
  }
}

variable "pool_id_random_suffix" {
  type        = bool
  description = "Append -xxxx to the pool ID, so a destroy and re-create does not collide with the soft-deleted pool. Set false to manage an existing pool (terraform import)."
  default     = true
}

variable "workload_identity_pool_provider_id" {
  type        = string
  description = "ID of the OIDC provider that trusts Microsoft Entra ID."
  default     = "entra-id"

  # workloadIdentityPoolProviderId: "4-32 characters, and may contain the characters [a-z0-9-]. The
  # prefix `gcp-` is reserved for use by Google, and may not be specified."
  # https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers/create
  validation {
    condition     = can(regex("^[a-z0-9-]{4,32}$", var.workload_identity_pool_provider_id)) && !startswith(var.workload_identity_pool_provider_id, "gcp-")
    error_message = "workload_identity_pool_provider_id: 4-32 characters of [a-z0-9-], and the prefix gcp- is reserved by Google."
  }
}

variable "bigquery_service_account_id" {
  type        = string
  description = "Account ID of the service account the Azure Function impersonates to query BigQuery."
  default     = "bq-reader"

  # accountId: "must be 6-30 characters long, and match the regular expression [a-z]([-a-z0-9]*[a-z0-9])"
  # https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/create
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.bigquery_service_account_id))
    error_message = "bigquery_service_account_id: 6-30 characters of [a-z0-9-], starting with a letter, not ending with a hyphen."
  }
}

variable "impersonate_service_account" {
  type        = bool
  description = "true: the Azure Function impersonates the BigQuery service account. false: direct resource access, the BigQuery roles go to the federated principal itself (one hop fewer)."
  default     = true
}

variable "bigquery_dataset_id" {
  type        = string
  description = "A dataset this stack creates for your own tables; the function's identity may read it."
  default     = "federation_demo"

  # datasetId: "must contain only letters (a-z, A-Z), numbers (0-9), or underscores (_). The maximum
  # length is 1,024 characters." https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets
  # (Terraform's regex() refuses repeat counts above 1000, so the length is checked apart.)
  validation {
    condition     = length(var.bigquery_dataset_id) <= 1024 && can(regex("^[A-Za-z0-9_]+$", var.bigquery_dataset_id))
    error_message = "bigquery_dataset_id: 1-1024 letters, digits and underscores."
  }
}

variable "bigquery_location" {
  type        = string
  description = "Location of the dataset and of the Azure Function's query jobs (bigquery-public-data.usa_names is in US)."
  default     = "US"
}

variable "cloud_function_name" {
  type        = string
  description = "Name of the Cloud Function (gen2) that lists Azure blobs."
  default     = "list-azure-blobs"

  # functionId: "must be 1-63 characters, lowercase letters, numbers or hyphens, start with a letter
  # and not end with a hyphen" (the Cloud Run service it becomes follows RFC 1035 labels).
  # https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions/create
  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.cloud_function_name))
    error_message = "cloud_function_name: 1-63 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen."
  }
}

variable "cloud_function_service_account_id" {
  type        = string
  description = "Account ID of the Cloud Function's runtime service account. Its numeric unique ID becomes the subject of the Azure federated credential."
  default     = "blob-reader-fn"

  # accountId: "must be 6-30 characters long, and match the regular expression [a-z]([-a-z0-9]*[a-z0-9])"
  # https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/create
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.cloud_function_service_account_id))
    error_message = "cloud_function_service_account_id: 6-30 characters of [a-z0-9-], starting with a letter, not ending with a hyphen."
  }
}

variable "cloud_function_source_dir" {
  type        = string
  description = "The Cloud Function bundle built by `make package`, relative to infra/."
  default     = "../build/gcp_function"
}

variable "cloud_function_ingress" {
  type        = string
  description = "Who can reach the Cloud Function's URL. Every caller must also be an authorized invoker (no unauthenticated access)."
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.cloud_function_ingress)
    error_message = "cloud_function_ingress: ALLOW_ALL (authenticated callers anywhere), ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "cloud_function_invokers" {
  type        = list(string)
  description = "IAM members allowed to call the Cloud Function (roles/run.invoker), e.g. user:you@example.com or serviceAccount:caller@p.iam.gserviceaccount.com. Never public."
  default     = []

  validation {
    condition     = alltrue([for m in var.cloud_function_invokers : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "cloud_function_invokers must not contain allUsers or allAuthenticatedUsers: the function is for authenticated callers only."
  }
}

# -- Microsoft Azure ---------------------------------------------------------------------------

variable "azure_tenant_id" {
  type        = string
  description = "The Microsoft Entra tenant (directory) ID."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.azure_tenant_id))
    error_message = "azure_tenant_id must be the tenant's GUID (lowercase)."
  }
}

variable "azure_subscription_id" {
  type        = string
  description = "The Azure subscription for the resource group, the storage accounts and the Function App."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.azure_subscription_id))
    error_message = "azure_subscription_id must be a subscription GUID (lowercase)."
  }
}

variable "azure_register_resource_providers" {
  type        = bool
  description = "Register the resource providers this stack uses (Microsoft.Web, Storage, Insights, OperationalInsights, ManagedIdentity) on the subscription: azurerm 5 no longer does it by default. false: register them yourself (az provider register -n <namespace>)."
  default     = true
}

variable "azure_location" {
  type        = string
  description = "Azure region of the resource group and everything in it."
  default     = "westeurope"
}

variable "resource_group_name" {
  type        = string
  description = "Resource group created for the storage accounts and the Function App."
  default     = "rg-federation"

  # "1-90 characters: alphanumerics, underscores, parentheses, hyphens, periods; can't end with a period."
  # https://learn.microsoft.com/rest/api/resources/resource-groups/create-or-update
  validation {
    condition     = length(var.resource_group_name) <= 90 && can(regex("^[-\\w._()]*[-\\w_()]$", var.resource_group_name))
    error_message = "resource_group_name: 1-90 letters, digits, underscores, parentheses, hyphens and periods, not ending with a period."
  }
}

variable "azure_token_version" {
  type        = number
  description = "Access token version the audience app issues (requested_access_token_version). 1: iss https://sts.windows.net/<tenant>/, aud api://<client-id>. 2: iss https://login.microsoftonline.com/<tenant>/v2.0, aud <client-id>. The pool provider follows."
  default     = 1

  validation {
    condition     = contains([1, 2], var.azure_token_version)
    error_message = "azure_token_version must be 1 or 2."
  }
}

variable "audience_app_display_name" {
  type        = string
  description = "Display name of the Entra app whose identifier URI is the audience of the Azure tokens Google STS accepts."
  default     = "gcp-federation-audience"

  # application displayName: required, at most 256 characters.
  # https://learn.microsoft.com/graph/api/resources/application#properties
  validation {
    condition     = length(trimspace(var.audience_app_display_name)) > 0 && length(var.audience_app_display_name) <= 256
    error_message = "audience_app_display_name: 1-256 characters (Microsoft Graph application displayName)."
  }
}

variable "google_to_azure_identity" {
  type        = string
  description = "What the Cloud Function signs in to Entra as: app_registration (needs directory rights to create) or user_assigned_identity (an Azure resource: Azure RBAC on the resource group is enough)."
  default     = "app_registration"

  validation {
    condition     = contains(["app_registration", "user_assigned_identity"], var.google_to_azure_identity)
    error_message = "google_to_azure_identity: app_registration or user_assigned_identity."
  }
}

variable "blob_reader_app_display_name" {
  type        = string
  description = "Display name of the Entra app the Cloud Function signs in as (through its federated credential)."
  default     = "gcp-blob-reader"

  # application displayName: required, at most 256 characters.
  # https://learn.microsoft.com/graph/api/resources/application#properties
  validation {
    condition     = length(trimspace(var.blob_reader_app_display_name)) > 0 && length(var.blob_reader_app_display_name) <= 256
    error_message = "blob_reader_app_display_name: 1-256 characters (Microsoft Graph application displayName)."
  }
}

variable "storage_account_name" {
  type        = string
  description = "The storage account whose container the Cloud Function lists (globally unique)."

  # "Storage account names must be between 3 and 24 characters in length and may contain numbers and
  # lowercase letters only." https://learn.microsoft.com/rest/api/storagerp/storage-accounts/create
  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name: 3-24 lowercase letters and digits (globally unique)."
  }
}

variable "storage_container_name" {
  type        = string
  description = "The container the Cloud Function lists; its service principal gets Storage Blob Data Reader on this container only."
  default     = "reports"

  # "3 to 63 characters; lowercase letters, numbers, and hyphens; start with a letter or number; every
  # hyphen preceded and followed by a letter or number" (no consecutive hyphens).
  # https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
  validation {
    condition     = length(var.storage_container_name) <= 63 && can(regex("^[a-z0-9](?:[a-z0-9]|-[a-z0-9])+$", var.storage_container_name)) && length(var.storage_container_name) >= 3
    error_message = "storage_container_name: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit."
  }
}

variable "function_app_name" {
  type        = string
  description = "Name of the Azure Function App that queries BigQuery (globally unique: <name>.azurewebsites.net)."

  # Microsoft.Web/sites: 2-60 characters, alphanumerics and hyphens, not starting or ending with a
  # hyphen (it becomes <name>.azurewebsites.net, so lowercase here).
  # https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftweb
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$", var.function_app_name))
    error_message = "function_app_name: 2-60 lowercase letters, digits and hyphens, not starting or ending with a hyphen (globally unique)."
  }
}

variable "function_app_storage_account_name" {
  type        = string
  description = "The Function App's own runtime storage account (globally unique), reached with its managed identity."

  # Same rule as storage_account_name (https://learn.microsoft.com/rest/api/storagerp/storage-accounts/create).
  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.function_app_storage_account_name))
    error_message = "function_app_storage_account_name: 3-24 lowercase letters and digits (globally unique)."
  }
}

variable "function_app_plan_sku" {
  type        = string
  description = "Hosting plan of the Function App: FC1 (Flex Consumption, the default) or an Elastic Premium EP1-EP3. Linux Consumption (Y1) gets no new language versions and retires on 2028-09-30."
  default     = "FC1"

  validation {
    condition     = contains(["FC1", "EP1", "EP2", "EP3"], var.function_app_plan_sku)
    error_message = "function_app_plan_sku: FC1 (Flex Consumption), EP1, EP2 or EP3 (Elastic Premium). Y1 (Linux Consumption) retires on 2028-09-30."
  }
}

# -- Both --------------------------------------------------------------------------------------

variable "labels" {
  type        = map(string)
  description = "Labels (Google) and tags (Azure) put on every resource that takes them."
  default     = {}

  # Google labels (the stricter of the two): keys 1-63 characters of lowercase letters, digits, _ and -,
  # starting with a letter; values 0-63 of the same; at most 64 labels (2 are this stack's own).
  # https://cloud.google.com/resource-manager/docs/labels-overview#requirements
  validation {
    condition = length(var.labels) <= 62 && alltrue([
      for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))
    ])
    error_message = "labels: at most 62, keys 1-63 lowercase letters, digits, _ or - starting with a letter, values 0-63 of the same (Google's label rules)."
  }
}
