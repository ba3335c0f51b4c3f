# The root stack's wiring, planned offline against the stand-in providers (make infra-check).
# Computed values the plan cannot know (a service account's unique ID, the Function App's identity,
# the project number) are pinned with override_* so the assertions read real expressions.

variables {
  gcp_project_id                    = "my-project-123"
  azure_tenant_id                   = "00000000-0000-0000-0000-000000000001"
  azure_subscription_id             = "00000000-0000-0000-0000-000000000002"
  storage_account_name              = "blobsfed123"
  function_app_name                 = "fn-federation-123"
  function_app_storage_account_name = "fnruntime123"
  pool_id_random_suffix             = false
}

override_data {
  target = data.google_project.this
  values = { number = "123456789012" }
}

override_resource {
  target          = module.cloud_function.google_service_account.runtime
  override_during = plan
  values          = { unique_id = "112233445566778899001", email = "blob-reader-fn@my-project-123.iam.gserviceaccount.com" }
}

override_resource {
  target          = module.azure_function.azurerm_function_app_flex_consumption.this
  override_during = plan
  values          = { identity = { principal_id = "aaaaaaaa-0000-0000-0000-000000000001", tenant_id = "00000000-0000-0000-0000-000000000001" }, default_hostname = "fn-federation-123.azurewebsites.net" }
}

override_resource {
  target          = module.azure_to_google.azuread_application.audience
  override_during = plan
  values          = { client_id = "cccccccc-0000-0000-0000-000000000001", id = "/applications/dddddddd-0000-0000-0000-000000000001" }
}

run "google_to_azure_credential_trusts_the_runtime_service_account" {
  command = plan

  assert {
    condition     = module.google_to_azure.federated_credential.subject == "112233445566778899001"
    error_message = "The federated identity credential's subject must be the Cloud Function's service account unique ID."
  }
  assert {
    condition     = module.google_to_azure.federated_credential.issuer == "https://accounts.google.com"
    error_message = "The federated identity credential must trust Google's issuer."
  }
  assert {
    condition     = module.google_to_azure.federated_credential.audiences == tolist(["api://AzureADTokenExchange"])
    error_message = "The federated identity credential's audience must be api://AzureADTokenExchange."
  }
  assert {
    condition     = module.cloud_function.service_account_email == "blob-reader-fn@my-project-123.iam.gserviceaccount.com"
    error_message = "The Cloud Function must run as its own service account."
  }
}

run "azure_to_google_v1_tokens" {
  command = plan

  assert {
    condition     = output.workload_identity_provider == join("/", ["projects", "123456789012", "locations", "global", "workloadIdentityPools", "azure-federation", "providers", "entra-id"])
    error_message = "The provider name must use the project number."
  }
  assert {
    condition     = module.azure_to_google.oidc.issuer_uri == "https://sts.windows.net/00000000-0000-0000-0000-000000000001/"
    error_message = "v1 tokens: issuer https://sts.windows.net/<tenant>/."
  }
  assert {
    condition     = module.azure_to_google.oidc.allowed_audiences == tolist(["api://cccccccc-0000-0000-0000-000000000001"])
    error_message = "v1 tokens: the allowed audience is api://<client id>."
  }
  assert {
    condition     = output.google_principals["function_app"] == "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/azure-federation/subject/aaaaaaaa-0000-0000-0000-000000000001"
    error_message = "The principal:// member must name the project number, the pool and the Function App's object ID."
  }
}

run "azure_to_google_v2_tokens" {
  command = plan

  variables {
    azure_token_version = 2
  }

  assert {
    condition     = module.azure_to_google.oidc.issuer_uri == "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0"
    error_message = "v2 tokens: issuer https://login.microsoftonline.com/<tenant>/v2.0."
  }
  assert {
    condition     = module.azure_to_google.oidc.allowed_audiences == tolist(["cccccccc-0000-0000-0000-000000000001"])
    error_message = "v2 tokens: the allowed audience is the client ID itself."
  }
}

run "flex_consumption_by_default_with_the_settings_contract" {
  command = plan

  assert {
    condition     = module.azure_function.hosting == "flex_consumption"
    error_message = "The Function App must default to Flex Consumption."
  }
  assert {
    condition = alltrue([for k in ["GCP_WORKLOAD_IDENTITY_PROVIDER", "AZURE_TOKEN_AUDIENCE", "GCP_SERVICE_ACCOUNT", "BIGQUERY_PROJECT", "BIGQUERY_LOCATION"] :
    contains(keys(module.azure_function.app_settings), k)])
    error_message = "The Function App's settings contract is incomplete."
  }
  assert {
    condition     = module.azure_function.app_settings["AZURE_TOKEN_AUDIENCE"] == "api://cccccccc-0000-0000-0000-000000000001"
    error_message = "AZURE_TOKEN_AUDIENCE must be the audience the pool provider allows."
  }
}

run "no_public_invoker" {
  command = plan

  variables {
    cloud_function_invokers = ["user:someone@example.com"]
  }

  assert {
    condition     = alltrue([for m in module.cloud_function.invoker_members : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "The Cloud Function must have no public invoker."
  }
  assert {
    condition     = module.cloud_function.invoker_members == toset(["user:someone@example.com"])
    error_message = "Exactly the listed invokers get roles/run.invoker."
  }
}

# The switch's other position: a user-assigned managed identity carries the same credential (no
# directory object), in the stack's resource group; doctor reads which one from the output.
run "google_to_azure_through_a_user_assigned_identity" {
  command = plan

  variables {
    google_to_azure_identity = "user_assigned_identity"
  }

  assert {
    condition     = output.google_to_azure_identity_kind == "user_assigned_identity"
    error_message = "The switch reaches the module and the output doctor reads."
  }
  assert {
    condition     = module.google_to_azure.federated_credential.subject == "112233445566778899001" && module.google_to_azure.federated_credential.issuer == "https://accounts.google.com"
    error_message = "The identity's credential trusts the runtime service account's unique ID at Google's issuer."
  }
  assert {
    condition     = module.google_to_azure.role_assignment.role == "Storage Blob Data Reader"
    error_message = "The identity's principal holds the reader role."
  }
}

run "refuses_an_unknown_google_to_azure_identity" {
  command = plan
  variables {
    google_to_azure_identity = "service_principal" # neither an app registration nor a user-assigned identity
  }
  expect_failures = [var.google_to_azure_identity]
}
