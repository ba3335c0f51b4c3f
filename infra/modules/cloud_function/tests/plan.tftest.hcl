variables {
  project_id         = "my-project-123"
  region             = "europe-west1"
  name               = "list-azure-blobs"
  service_account_id = "blob-reader-fn"
  source_dir         = "."
  environment        = { AZURE_CLIENT_ID = "cccccccc-0000-0000-0000-000000000001" }
  invokers           = ["user:someone@example.com"]
}

run "own_service_account_authenticated_invokers" {
  command = plan

  assert {
    condition     = google_cloudfunctions2_function.this.service_config[0].environment_variables["AZURE_CLIENT_ID"] == "cccccccc-0000-0000-0000-000000000001" && google_cloudfunctions2_function.this.build_config[0].runtime == "python311"
    error_message = "The function's settings and runtime."
  }
  assert {
    condition     = output.invoker_members == toset(["user:someone@example.com"]) && alltrue([for m in google_cloud_run_v2_service_iam_member.invoker : m.role == "roles/run.invoker"])
    error_message = "Only the listed invokers, with roles/run.invoker."
  }
  assert {
    condition     = google_storage_bucket.source.public_access_prevention == "enforced" && google_storage_bucket.source.uniform_bucket_level_access
    error_message = "The source bucket must not be public."
  }
}

run "refuses_a_public_invoker" {
  command = plan
  variables {
    invokers = ["allUsers"]
  }
  expect_failures = [var.invokers]
}
