# Both positions of the switch: which Entra object carries the Google federated credential, and who
# gets the storage role. Plans only (no cloud), against the stand-in providers of tools/tfstub.

variables {
  display_name              = "gcp-blob-reader"
  service_account_unique_id = "578801583304294727810"
  storage_container_scope   = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/blobsfed123/blobServices/default/containers/reports"
}

run "app_registration_by_default" {
  command = plan

  assert {
    condition     = length(azuread_application.this) == 1 && length(azuread_application_federated_identity_credential.google) == 1
    error_message = "the default is an app registration with a federated credential"
  }
  assert {
    condition     = length(azurerm_user_assigned_identity.this) == 0 && length(azurerm_federated_identity_credential.google) == 0
    error_message = "no managed identity in the app registration position"
  }
  assert {
    condition     = azuread_application_federated_identity_credential.google[0].subject == var.service_account_unique_id && azuread_application_federated_identity_credential.google[0].issuer == "https://accounts.google.com"
    error_message = "the credential trusts the service account's unique ID at Google's issuer"
  }
  assert {
    condition     = output.identity_kind == "app_registration"
    error_message = "the kind is an output (doctor reads it)"
  }
}

run "user_assigned_identity" {
  command = plan

  variables {
    identity_kind       = "user_assigned_identity"
    resource_group_name = "rg-federation"
    location            = "westeurope"
  }

  assert {
    condition     = length(azuread_application.this) == 0 && length(azuread_service_principal.this) == 0 && length(azuread_application_federated_identity_credential.google) == 0
    error_message = "no directory object: the identity needs Azure RBAC only"
  }
  assert {
    condition     = length(azurerm_user_assigned_identity.this) == 1 && azurerm_user_assigned_identity.this[0].resource_group_name == "rg-federation"
    error_message = "one user-assigned identity in the resource group"
  }
  assert {
    condition     = azurerm_federated_identity_credential.google[0].subject == var.service_account_unique_id && azurerm_federated_identity_credential.google[0].audience == tolist(["api://AzureADTokenExchange"])
    error_message = "the identity's federated credential trusts the service account for the token-exchange audience"
  }
  assert {
    condition     = azurerm_role_assignment.reader.role_definition_name == "Storage Blob Data Reader" && azurerm_role_assignment.reader.scope == var.storage_container_scope
    error_message = "the storage role on the container (its principal is the identity's)"
  }
  assert {
    condition     = output.identity_kind == "user_assigned_identity"
    error_message = "the kind is an output (doctor reads it)"
  }
}

run "an_unknown_kind_is_refused" {
  command = plan

  variables {
    identity_kind = "service_principal"
  }

  expect_failures = [var.identity_kind]
}

run "an_identity_name_azure_refuses" {
  command = plan

  variables {
    identity_kind       = "user_assigned_identity"
    resource_group_name = "rg-federation"
    location            = "westeurope"
    display_name        = "GCP blob reader"
  }

  expect_failures = [azurerm_user_assigned_identity.this]
}
