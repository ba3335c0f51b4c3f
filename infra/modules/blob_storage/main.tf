# The storage account and container the Cloud Function lists: private, TLS 1.2, Entra ID only.

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV_AZURE_33:Queue service logging does not apply: the account serves blobs only, and has no queues.
  #checkov:skip=CKV_AZURE_206:Zone-redundant (ZRS); geo-replication is a durability and cost choice for your data, not a security control.
  #checkov:skip=CKV2_AZURE_1:Customer-managed keys are a compliance choice; Microsoft-managed keys encrypt at rest.
  #checkov:skip=CKV2_AZURE_33:A private endpoint needs a VNet the Cloud Function cannot join; access is Entra ID-only and RBAC-scoped.
  #checkov:skip=CKV_AZURE_59:The Cloud Function reaches the account over the internet; shared keys are disabled and only Entra tokens work.
  name                            = var.storage_account_name
  resource_group_name             = var.resource_group_name
  location                        = var.location
  account_tier                    = "Standard"
  account_replication_type        = "ZRS"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  allow_nested_items_to_be_public = false
  public_network_access_enabled   = true
  local_user_enabled              = false
  tags                            = var.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

resource "azurerm_storage_container" "this" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging is configured through diagnostic settings, outside this template.
  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}
