provider "azurerm" {
  features {}
}

variables {
  display_name              = "gcp-blob-reader"
  service_account_unique_id = "112233445566778899001"
  storage_container_scope   = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/blobsfed123/blobServices/default/containers/reports"
}

run "credential_and_container_scoped_reader" {
  command = plan

  assert {
    condition     = output.federated_credential.subject == "112233445566778899001" && output.federated_credential.issuer == "https://accounts.google.com" && output.federated_credential.audiences == tolist(["api://AzureADTokenExchange"])
    error_message = "Issuer Google, subject the service account's unique ID, audience api://AzureADTokenExchange."
  }
  assert {
    condition     = azuread_application_federated_identity_credential.google[0].display_name == "google-service-account-112233445566778899001"
    error_message = "The credential's default name."
  }
  assert {
    condition     = output.role_assignment.scope == var.storage_container_scope && output.role_assignment.role == "Storage Blob Data Reader"
    error_message = "Storage Blob Data Reader on the container only."
  }
}

run "refuses_bad_values" {
  command = plan
  variables {
    service_account_unique_id = "blob-reader-fn@my-project-123.iam.gserviceaccount.com" # the e-mail, not the unique ID
    federated_credential_name = "-google"                                               # must start with a letter or digit
  }
  expect_failures = [var.service_account_unique_id, var.federated_credential_name]
}
