# Keyless, two-way workload identity federation between Azure and Google Cloud.
#
#   Azure -> Google: the Function App's managed identity -> Google STS (pool provider trusting
#                    Entra) -> impersonates the BigQuery service account -> BigQuery.
#   Google -> Azure: the Cloud Function's service account -> Google ID token -> Entra federated
#                    identity credential -> Storage Blob Data Reader on one container.
#
# Neither function holds a secret. Each function's settings are wired from these resources.

data "google_project" "this" {
  project_id = var.gcp_project_id
}

locals {
  labels = merge({ managed-by = "terraform", stack = "azure-gcp-federation" }, var.labels)
}

resource "google_project_service" "required" {
  for_each = toset([
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "artifactregistry.googleapis.com",
    "run.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "storage.googleapis.com",
  ])
  project            = var.gcp_project_id
  service            = each.value
  disable_on_destroy = false
}

# -- Azure: the resource group and the blobs the Cloud Function reads -------------------------

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.azure_location
  tags     = local.labels
}

module "blob_storage" {
  source = "./modules/blob_storage"

  resource_group_name  = azurerm_resource_group.this.name
  location             = azurerm_resource_group.this.location
  storage_account_name = var.storage_account_name
  container_name       = var.storage_container_name
  tags                 = local.labels
}

# -- Google -> Azure: the Cloud Function lists the container ----------------------------------

module "google_to_azure" {
  source = "./modules/google_to_azure"

  display_name                 = var.blob_reader_app_display_name
  identity_kind                = var.google_to_azure_identity
  resource_group_name          = azurerm_resource_group.this.name
  location                     = azurerm_resource_group.this.location
  tags                         = local.labels
  service_account_unique_id    = module.cloud_function.service_account_unique_id
  storage_container_scope      = module.blob_storage.container_id
  storage_role_definition_name = "Storage Blob Data Reader"
}

module "cloud_function" {
  source = "./modules/cloud_function"

  project_id         = var.gcp_project_id
  region             = var.gcp_region
  name               = var.cloud_function_name
  service_account_id = var.cloud_function_service_account_id
  source_dir         = "${path.root}/${var.cloud_function_source_dir}"
  ingress            = var.cloud_function_ingress
  invokers           = var.cloud_function_invokers
  labels             = local.labels
  environment = {
    AZURE_TENANT_ID           = var.azure_tenant_id
    AZURE_CLIENT_ID           = module.google_to_azure.client_id
    AZURE_STORAGE_ACCOUNT_URL = module.blob_storage.account_url
    AZURE_STORAGE_CONTAINER   = var.storage_container_name
    GOOGLE_CLOUD_PROJECT      = var.gcp_project_id
  }

  depends_on = [google_project_service.required]
}

# -- Azure -> Google: the Azure Function queries BigQuery -------------------------------------

module "azure_to_google" {
  source = "./modules/azure_to_google"

  project_id                  = var.gcp_project_id
  project_number              = data.google_project.this.number
  tenant_id                   = var.azure_tenant_id
  token_version               = var.azure_token_version
  audience_app_display_name   = var.audience_app_display_name
  pool_id                     = var.workload_identity_pool_id
  pool_id_random_suffix       = var.pool_id_random_suffix
  provider_id                 = var.workload_identity_pool_provider_id
  allowed_principals          = { function_app = module.azure_function.principal_id }
  service_account_id          = var.bigquery_service_account_id
  impersonate_service_account = var.impersonate_service_account
  bigquery_dataset_id         = google_bigquery_dataset.demo.dataset_id

  depends_on = [google_project_service.required]
}

resource "google_bigquery_dataset" "demo" {
  #checkov:skip=CKV_GCP_81:Customer-supplied keys are a compliance choice; BigQuery encrypts at rest with Google-managed keys. Add default_encryption_configuration for CMEK.
  project    = var.gcp_project_id
  dataset_id = var.bigquery_dataset_id
  location   = var.bigquery_location
  labels     = local.labels

  depends_on = [google_project_service.required]
}

module "azure_function" {
  source = "./modules/azure_function"

  name                 = var.function_app_name
  resource_group_name  = azurerm_resource_group.this.name
  location             = azurerm_resource_group.this.location
  storage_account_name = var.function_app_storage_account_name
  plan_sku             = var.function_app_plan_sku
  tags                 = local.labels
  app_settings = {
    GCP_WORKLOAD_IDENTITY_PROVIDER = module.azure_to_google.provider_name
    AZURE_TOKEN_AUDIENCE           = module.azure_to_google.azure_token_audience
    GCP_SERVICE_ACCOUNT            = module.azure_to_google.service_account_email
    BIGQUERY_PROJECT               = var.gcp_project_id
    BIGQUERY_LOCATION              = var.bigquery_location
  }
}
