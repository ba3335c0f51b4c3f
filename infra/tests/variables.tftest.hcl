# Every variable validation of the root stack: each bad value is refused by the rule that names the
# API's limit (expect_failures: every variable listed must report its error), and every example value passes (the runs at the end).
# The rules and their sources are in ../variables.tf.

variables {
  gcp_project_id                    = "my-project-123"
  azure_tenant_id                   = "00000000-0000-0000-0000-000000000001"
  azure_subscription_id             = "00000000-0000-0000-0000-000000000002"
  storage_account_name              = "blobsfed123"
  function_app_name                 = "fn-federation-123"
  function_app_storage_account_name = "fnruntime123"
}

run "refuses_bad_values_1" {
  # Each variable's rule must refuse its value: a variable listed here that passed fails the run.
  command = plan
  variables {
    gcp_project_id                     = "123456789012"                        # a project number, not its ID
    workload_identity_pool_id          = "gcp-azure"                           # gcp- prefix reserved
    workload_identity_pool_provider_id = "gcp-entra"                           # gcp- prefix reserved for providers too
    bigquery_service_account_id        = "bq"                                  # under 6 characters
    bigquery_dataset_id                = "federation-demo"                     # hyphen
    cloud_function_name                = "List_Blobs"                          # uppercase and underscore
    cloud_function_service_account_id  = "1blob-reader"                        # starts with a digit
    cloud_function_ingress             = "ALLOW_EVERYTHING"                    # unknown setting
    cloud_function_invokers            = ["allUsers"]                          # public
    azure_tenant_id                    = "contoso.onmicrosoft.com"             # a domain, not the GUID
    azure_subscription_id              = "not-a-guid"                          # not a GUID
    azure_token_version                = 3                                     # no such token version
    resource_group_name                = "rg-federation."                      # ends with a period
    audience_app_display_name          = join("", [for i in range(257) : "a"]) # 257 characters
    blob_reader_app_display_name       = "  "                                  # blank
    storage_account_name               = "Blobs-Fed"                           # uppercase and hyphen
    storage_container_name             = "reports--2026"                       # consecutive hyphens
    function_app_name                  = "-fn-federation"                      # starts with a hyphen
    function_app_storage_account_name  = "fn_runtime"                          # underscore
    function_app_plan_sku              = "Y1"                                  # Linux Consumption, retiring
    labels                             = { Team = "data" }                     # uppercase label key
  }
  expect_failures = [
    var.gcp_project_id,
    var.workload_identity_pool_id,
    var.workload_identity_pool_provider_id,
    var.bigquery_service_account_id,
    var.bigquery_dataset_id,
    var.cloud_function_name,
    var.cloud_function_service_account_id,
    var.cloud_function_ingress,
    var.cloud_function_invokers,
    var.azure_tenant_id,
    var.azure_subscription_id,
    var.azure_token_version,
    var.resource_group_name,
    var.audience_app_display_name,
    var.blob_reader_app_display_name,
    var.storage_account_name,
    var.storage_container_name,
    var.function_app_name,
    var.function_app_storage_account_name,
    var.function_app_plan_sku,
    var.labels,
  ]
}

run "refuses_bad_values_2" {
  # Each variable's rule must refuse its value: a variable listed here that passed fails the run.
  command = plan
  variables {
    gcp_project_id                     = "my-project-"                                                             # trailing hyphen
    workload_identity_pool_id          = "abc"                                                                     # under 4 characters
    workload_identity_pool_provider_id = "Entra_ID"                                                                # uppercase and underscore
    bigquery_dataset_id                = "${join("", [for i in range(32) : "abcdefghijklmnopqrstuvwxyz012345"])}a" # 1025 characters
    cloud_function_name                = "list-blobs-"                                                             # trailing hyphen
    cloud_function_invokers            = ["allAuthenticatedUsers"]                                                 # public to any Google account
    storage_account_name               = "ab"                                                                      # under 3 characters
    storage_container_name             = "-reports"                                                                # starts with a hyphen
  }
  expect_failures = [
    var.gcp_project_id,
    var.workload_identity_pool_id,
    var.workload_identity_pool_provider_id,
    var.bigquery_dataset_id,
    var.cloud_function_name,
    var.cloud_function_invokers,
    var.storage_account_name,
    var.storage_container_name,
  ]
}

run "refuses_bad_values_3" {
  # Each variable's rule must refuse its value: a variable listed here that passed fails the run.
  command = plan
  variables {
    workload_identity_pool_id = "a-pool-id-of-twenty-eight-ch" # 28 characters: no room for the suffix
  }
  expect_failures = [
    var.workload_identity_pool_id,
  ]
}

run "accepts_the_example_values" {
  # infra/terraform.tfvars.example, as a user copies it
  command = plan
  variables {
    gcp_project_id                     = "fedlab-analytics"
    gcp_region                         = "europe-west1"
    workload_identity_pool_id          = "azure-federation"
    pool_id_random_suffix              = true
    workload_identity_pool_provider_id = "entra-id"
    bigquery_service_account_id        = "bq-reader"
    impersonate_service_account        = true
    bigquery_dataset_id                = "federation_demo"
    bigquery_location                  = "US"
    cloud_function_name                = "list-azure-blobs"
    cloud_function_service_account_id  = "blob-reader-fn"
    cloud_function_ingress             = "ALLOW_ALL"
    cloud_function_invokers            = ["user:you@example.com"]
    azure_tenant_id                    = "21857a0f-71a2-49d6-ae97-95f4ffd23019"
    azure_subscription_id              = "00000000-0000-0000-0000-000000000000"
    azure_location                     = "westeurope"
    resource_group_name                = "rg-federation-lab"
    azure_token_version                = 1
    audience_app_display_name          = "gcp-federation-audience"
    blob_reader_app_display_name       = "gcp-blob-reader"
    storage_account_name               = "devstoreaccount1"
    storage_container_name             = "reports"
    function_app_name                  = "func-bigquery-reader"
    function_app_storage_account_name  = "funcbigqueryreaderrt"
    function_app_plan_sku              = "FC1"
  }
}

run "accepts_the_limits" {
  # each rule's edge values: the longest and shortest the API allows
  command = plan
  variables {
    gcp_project_id                     = "a23456789012345678901234567890"
    workload_identity_pool_id          = "0pool-id-of-twenty-seven-ch"
    workload_identity_pool_provider_id = "provider-id-of-thirty-two-chars0"
    bigquery_service_account_id        = "abcdef"
    bigquery_dataset_id                = join("", [for i in range(32) : "ABCDEFGHIJKLMNOPQRSTUVWXYZ_01234"])
    cloud_function_name                = "f"
    azure_token_version                = 2
    resource_group_name                = "rg_(federation).lab"
    audience_app_display_name          = join("", [for i in range(256) : "a"])
    storage_account_name               = "abc"
    storage_container_name             = "a-b"
    function_app_name                  = "f1"
    function_app_storage_account_name  = "abcdefghijklmnopqrstuvwx"
    function_app_plan_sku              = "EP1"
    labels                             = { team = "data-platform", cost_centre = "" }
  }
}
