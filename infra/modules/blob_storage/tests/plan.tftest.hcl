provider "azurerm" {
  features {}
}

variables {
  resource_group_name  = "rg-federation"
  location             = "westeurope"
  storage_account_name = "blobsfed123"
  container_name       = "reports"
}

run "private_container_tls12_no_public_blobs" {
  command = plan

  assert {
    condition     = azurerm_storage_container.this.name == "reports" && azurerm_storage_container.this.container_access_type == "private"
    error_message = "The container must be private."
  }
  assert {
    condition     = azurerm_storage_account.this.min_tls_version == "TLS1_2" && azurerm_storage_account.this.allow_nested_items_to_be_public == false
    error_message = "TLS 1.2 and no public blobs."
  }
}
