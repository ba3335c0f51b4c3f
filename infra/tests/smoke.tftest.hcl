variables {
  gcp_project_id                    = "my-project-123"
  azure_tenant_id                   = "00000000-0000-0000-0000-000000000001"
  azure_subscription_id             = "00000000-0000-0000-0000-000000000002"
  storage_account_name              = "blobsfed123"
  function_app_name                 = "fn-federation-123"
  function_app_storage_account_name = "fnruntime123"
}

run "plan" {
  command = plan
}

run "plan_with_a_user_assigned_identity" {
  command = plan

  variables {
    google_to_azure_identity = "user_assigned_identity"
  }

  assert {
    condition     = output.google_to_azure_identity_kind == "user_assigned_identity"
    error_message = "the switch reaches the module, and doctor can read which object it made"
  }
}
