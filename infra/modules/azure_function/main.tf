# The Function App that queries BigQuery: Linux, Python 3.11, a system-assigned managed identity
# (its object ID is the principal Google trusts), HTTPS only, TLS 1.2, no basic-auth publishing, and
# its runtime and deployment storage reached with that identity instead of a key.
#
# Hosting: Flex Consumption (FC1, azurerm_function_app_flex_consumption) by default — Microsoft's
# replacement for Linux Consumption (Y1), which gets no new features or language versions and retires
# on 2028-09-30 (https://learn.microsoft.com/azure/azure-functions/consumption-plan,
# https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan). Flex Consumption deploys
# the code package into a blob container (deployment storage, here reached with the app's identity)
# and takes the runtime and scale settings as resource properties, not app settings
# (https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations).
# plan_sku EP1-EP3 keeps an Elastic Premium plan (azurerm_linux_function_app) for VNet-heavy setups.

locals {
  flex = var.plan_sku == "FC1"
  # The settings contract with the function is the same on both plans.
  app_settings = merge(var.app_settings, {
    AzureWebJobsFeatureFlags = "EnableWorkerIndexing"
  })
}

resource "azurerm_storage_account" "runtime" {
  #checkov:skip=CKV_AZURE_33:Queue logging: the runtime account's queues are the Functions host's own.
  #checkov:skip=CKV_AZURE_206:Zone-redundant (ZRS); geo-replicating the host's transient runtime state buys nothing.
  #checkov:skip=CKV2_AZURE_1:Customer-managed keys are a compliance choice; Microsoft-managed keys encrypt at rest.
  #checkov:skip=CKV2_AZURE_33:A private endpoint needs VNet integration, which this stack leaves to you (virtual_network_subnet_id).
  #checkov:skip=CKV_AZURE_59:Without VNet integration the host reaches its storage over the public endpoint (with its identity, no key).
  name                            = var.storage_account_name
  resource_group_name             = var.resource_group_name
  location                        = var.location
  account_tier                    = "Standard"
  account_replication_type        = "ZRS"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  shared_access_key_enabled       = false # runtime and deployment storage: the app's identity only
  allow_nested_items_to_be_public = false
  tags                            = var.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
  }

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

# Flex Consumption keeps the deployment package in a blob container of the runtime account.
resource "azurerm_storage_container" "deployments" {
  #checkov:skip=CKV2_AZURE_21:Blob logging of the host's own deployment packages adds nothing to Azure Monitor's activity log.
  count                 = local.flex ? 1 : 0
  name                  = "app-package"
  storage_account_id    = azurerm_storage_account.runtime.id
  container_access_type = "private"
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_212:Failover instances need a Premium plan; the default is Flex Consumption, which scales out on demand (function_app_plan_sku).
  #checkov:skip=CKV_AZURE_225:Zone redundancy is a plan choice left to you; the default is Flex Consumption (function_app_plan_sku).
  name                = "${var.name}-plan"
  resource_group_name = var.resource_group_name
  location            = var.location
  os_type             = "Linux"
  sku_name            = var.plan_sku
  tags                = var.tags
}

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${var.name}-logs"
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                = "${var.name}-insights"
  resource_group_name = var.resource_group_name
  location            = var.location
  workspace_id        = azurerm_log_analytics_workspace.this.id
  application_type    = "web"
  tags                = var.tags
}

# Argument reference: https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/function_app_flex_consumption
resource "azurerm_function_app_flex_consumption" "this" {
  #checkov:skip=CKV_AZURE_221:Public network access is how callers reach an HTTP API; every call needs a function key.
  count                                          = local.flex ? 1 : 0
  name                                           = var.name
  resource_group_name                            = var.resource_group_name
  location                                       = var.location
  service_plan_id                                = azurerm_service_plan.this.id
  runtime_name                                   = "python"
  runtime_version                                = "3.11"
  storage_container_type                         = "blobContainer"
  storage_container_endpoint                     = "${azurerm_storage_account.runtime.primary_blob_endpoint}${azurerm_storage_container.deployments[0].name}"
  storage_authentication_type                    = "SystemAssignedIdentity"
  maximum_instance_count                         = var.maximum_instance_count
  instance_memory_in_mb                          = 2048
  https_only                                     = true
  public_network_access_enabled                  = true
  webdeploy_publish_basic_authentication_enabled = false
  tags                                           = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    http2_enabled                          = true
    application_insights_connection_string = azurerm_application_insights.this.connection_string
  }

  # The host's own storage (AzureWebJobsStorage) by identity: the account name and the credential.
  app_settings = merge(local.app_settings, {
    AzureWebJobsStorage__accountName = azurerm_storage_account.runtime.name
    AzureWebJobsStorage__credential  = "managedidentity"
  })
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:Public network access is how callers reach an HTTP API; every call needs a function key.
  count                                          = local.flex ? 0 : 1
  name                                           = var.name
  resource_group_name                            = var.resource_group_name
  location                                       = var.location
  service_plan_id                                = azurerm_service_plan.this.id
  storage_account_name                           = azurerm_storage_account.runtime.name
  storage_uses_managed_identity                  = true
  https_only                                     = true
  public_network_access_enabled                  = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  builtin_logging_enabled                        = false
  functions_extension_version                    = "~4"
  tags                                           = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    ftps_state                             = "Disabled"
    http2_enabled                          = true
    application_insights_connection_string = azurerm_application_insights.this.connection_string

    application_stack {
      python_version = "3.11"
    }
  }

  app_settings = local.app_settings

  lifecycle {
    # Deployments (func publish, config-zip) set these; Terraform should not undo them.
    ignore_changes = [app_settings["WEBSITE_RUN_FROM_PACKAGE"], app_settings["WEBSITE_ENABLE_SYNC_UPDATE_SITE"]]
  }
}

locals {
  principal_id = local.flex ? azurerm_function_app_flex_consumption.this[0].identity[0].principal_id : azurerm_linux_function_app.this[0].identity[0].principal_id
  hostname     = local.flex ? azurerm_function_app_flex_consumption.this[0].default_hostname : azurerm_linux_function_app.this[0].default_hostname
}

# The host reaches AzureWebJobsStorage (and, on Flex Consumption, its deployment container) with its identity.
resource "azurerm_role_assignment" "runtime_storage" {
  for_each             = toset(["Storage Blob Data Owner", "Storage Queue Data Contributor", "Storage Table Data Contributor"])
  scope                = azurerm_storage_account.runtime.id
  role_definition_name = each.value
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}
