# The Function App that queries BigQuery: Linux, Python 3.11, a system-assigned managed identity
# (its object ID is the principal Google trusts), HTTPS only, TLS 1.2, no FTP or basic-auth
# publishing, and its runtime storage reached with that identity instead of a key.

resource "azurerm_storage_account" "runtime" {
  #checkov:skip=CKV_AZURE_33:Queue logging: the runtime account's queues are the Functions host's own.
  #checkov:skip=CKV_AZURE_206:Zone-redundant (ZRS); geo-replicating the host's transient runtime state buys nothing.
  #checkov:skip=CKV2_AZURE_1:Customer-managed keys are a compliance choice; Microsoft-managed keys encrypt at rest.
  #checkov:skip=CKV2_AZURE_33:A private endpoint needs VNet integration, which the Consumption plan does not offer.
  #checkov:skip=CKV_AZURE_59:The Consumption plan reaches its storage over the public endpoint.
  #checkov:skip=CKV2_AZURE_40:Linux Consumption deployments (func publish, config-zip) still need shared-key access to the runtime account; the host itself uses the managed identity.
  name                            = var.storage_account_name
  resource_group_name             = var.resource_group_name
  location                        = var.location
  account_tier                    = "Standard"
  account_replication_type        = "ZRS"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  shared_access_key_enabled       = true # see CKV2_AZURE_40 above
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

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_212:Failover instances need a Premium plan; the default is Consumption, which scales out on demand (function_app_plan_sku).
  #checkov:skip=CKV_AZURE_225:Zone redundancy needs a Premium plan; the default is Consumption (function_app_plan_sku).
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

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:Public network access is how callers reach an HTTP API; every call needs a function key.
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

  app_settings = merge(var.app_settings, {
    AzureWebJobsFeatureFlags = "EnableWorkerIndexing"
  })

  lifecycle {
    # Deployments (func publish, config-zip) set these; Terraform should not undo them.
    ignore_changes = [app_settings["WEBSITE_RUN_FROM_PACKAGE"], app_settings["WEBSITE_ENABLE_SYNC_UPDATE_SITE"]]
  }
}

# The host reaches AzureWebJobsStorage with its identity (storage_uses_managed_identity).
resource "azurerm_role_assignment" "runtime_storage" {
  for_each             = toset(["Storage Blob Data Owner", "Storage Queue Data Contributor", "Storage Table Data Contributor"])
  scope                = azurerm_storage_account.runtime.id
  role_definition_name = each.value
  principal_id         = azurerm_linux_function_app.this.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}
