# The Cloud Function (gen2) that lists Azure blobs: its own runtime service account (no roles
# needed in Google Cloud: its identity is for Azure), authenticated invokers only.
#
# Terraform creates the function from the bundle `make package` builds; later code deploys
# (`gcloud functions deploy`, cloudbuild.yaml) replace the source without Terraform undoing them.

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "Cloud Function ${var.name} (signs in to Azure by federation)"
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Access logs of a build-source bucket add nothing: Cloud Audit Logs record access.
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
    }
    action {
      type = "Delete"
    }
  }
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.module}/.terraform-build/${var.name}.zip"
  excludes    = ["**/__pycache__/**"]
}

resource "google_storage_bucket_object" "source" {
  name   = "${var.name}-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "this" {
  project     = var.project_id
  name        = var.name
  location    = var.region
  description = "Lists an Azure Storage container with no Azure secret (workload identity federation)."
  labels      = var.labels

  build_config {
    runtime     = "python311"
    entry_point = "list_blobs"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime.email
    ingress_settings                 = var.ingress
    all_traffic_on_latest_revision   = true
    available_memory                 = "512M"
    timeout_seconds                  = 60
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = 8
    available_cpu                    = "1"
    environment_variables            = var.environment
  }

  lifecycle {
    ignore_changes = [build_config[0].source, build_config[0].docker_repository]
  }
}

# Only the listed members may call it; never allUsers (see the variable's validation).
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = toset(var.invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}
