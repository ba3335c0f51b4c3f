variables {
  project_id                = "my-project-123"
  project_number            = "123456789012"
  tenant_id                 = "00000000-0000-0000-0000-000000000001"
  audience_app_display_name = "gcp-federation-audience"
  pool_id                   = "azure-federation"
  pool_id_random_suffix     = false
  provider_id               = "entra-id"
  allowed_principals        = { function_app = "aaaaaaaa-0000-0000-0000-000000000001" }
  service_account_id        = "bq-reader"
  bigquery_dataset_id       = "federation_demo"
}

override_resource {
  target          = azuread_application.audience
  override_during = plan
  values          = { client_id = "cccccccc-0000-0000-0000-000000000001" }
}

run "impersonation_roles_and_condition" {
  command = plan

  assert {
    condition     = google_iam_workload_identity_pool_provider.entra.attribute_condition == "assertion.tid == '00000000-0000-0000-0000-000000000001' && assertion.oid in ['aaaaaaaa-0000-0000-0000-000000000001']"
    error_message = "The condition must pin the tenant and the allowed identities."
  }
  assert {
    condition     = output.workload_identity_users == toset(["principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/azure-federation/subject/aaaaaaaa-0000-0000-0000-000000000001"])
    error_message = "roles/iam.workloadIdentityUser goes to the principal:// member with the project number."
  }
  assert {
    condition     = output.bigquery_role_members.job_user == toset(["serviceAccount:bq-reader@my-project-123.iam.gserviceaccount.com"]) && output.bigquery_role_members.dataset == toset(["federation_demo"])
    error_message = "With impersonation, the BigQuery roles go to the service account, on the stack's dataset."
  }
  assert {
    condition     = output.oidc.issuer_uri == "https://sts.windows.net/00000000-0000-0000-0000-000000000001/" && output.oidc.allowed_audiences == tolist(["api://cccccccc-0000-0000-0000-000000000001"])
    error_message = "v1 tokens: sts.windows.net issuer, api://<client id> audience."
  }
}

run "direct_resource_access" {
  command = plan
  variables {
    impersonate_service_account = false
  }
  assert {
    condition     = length(google_service_account.bigquery) == 0 && output.bigquery_role_members.data_viewer == toset(["principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/azure-federation/subject/aaaaaaaa-0000-0000-0000-000000000001"])
    error_message = "Direct resource access: no service account, the roles on the principal:// member."
  }
}

run "refuses_bad_values" {
  command = plan
  variables {
    project_number     = "my-project-123" # the ID where the number belongs
    allowed_principals = {}               # would admit the whole tenant
  }
  expect_failures = [var.project_number, var.allowed_principals]
}
