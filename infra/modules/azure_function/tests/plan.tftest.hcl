provider "azurerm" {
  features {}
}

variables {
  name                 = "fn-federation-123"
  resource_group_name  = "rg-federation"
  location             = "westeurope"
  storage_account_name = "fnruntime123"
  app_settings         = { GCP_WORKLOAD_IDENTITY_PROVIDER = "projects/1/locations/global/workloadIdentityPools/p/providers/x" }
}

run "flex_consumption_with_identity_based_storage" {
  command = plan

  assert {
    condition     = length(azurerm_function_app_flex_consumption.this) == 1 && length(azurerm_linux_function_app.this) == 0
    error_message = "FC1 (the default) must create the Flex Consumption app only."
  }
  assert {
    condition     = azurerm_function_app_flex_consumption.this[0].storage_authentication_type == "SystemAssignedIdentity" && azurerm_function_app_flex_consumption.this[0].runtime_name == "python"
    error_message = "Deployment storage by the app's identity, Python runtime."
  }
  assert {
    condition     = azurerm_service_plan.this.sku_name == "FC1" && azurerm_storage_account.runtime.shared_access_key_enabled == false
    error_message = "The FC1 plan, and no shared keys on the runtime account."
  }
  assert {
    condition     = azurerm_function_app_flex_consumption.this[0].app_settings["AzureWebJobsStorage__credential"] == "managedidentity" && azurerm_function_app_flex_consumption.this[0].app_settings["GCP_WORKLOAD_IDENTITY_PROVIDER"] == var.app_settings["GCP_WORKLOAD_IDENTITY_PROVIDER"]
    error_message = "The host's storage by identity, and the function's settings passed through."
  }
  assert {
    condition     = toset([for r in azurerm_role_assignment.runtime_storage : r.role_definition_name]) == toset(["Storage Blob Data Owner", "Storage Queue Data Contributor", "Storage Table Data Contributor"])
    error_message = "The identity's roles on its runtime storage."
  }
}

run "elastic_premium_keeps_the_linux_function_app" {
  command = plan
  variables {
    plan_sku = "EP1"
  }
  assert {
    condition     = length(azurerm_function_app_flex_consumption.this) == 0 && azurerm_linux_function_app.this[0].site_config[0].application_stack[0].python_version == "3.11"
    error_message = "EP1 must create the Linux Function App on Python 3.11."
  }
}

run "refuses_bad_values" {
  command = plan
  variables {
    plan_sku               = "Y1" # Linux Consumption retires on 2028-09-30
    maximum_instance_count = 0    # Flex Consumption: 1-1000
  }
  expect_failures = [var.plan_sku, var.maximum_instance_count]
}

run "refuses_too_many_instances" {
  command = plan
  variables {
    maximum_instance_count = 1001
  }
  expect_failures = [var.maximum_instance_count]
}
