# Azure -> Google: a workload identity pool whose OIDC provider trusts Entra ID tokens issued to
# one audience app, for listed identities of one tenant; and what those identities may do.
#
# The Azure identity (the Function App's managed identity) asks Entra for a token whose audience
# is the audience app's identifier URI; Google STS checks issuer, audience, signature and the
# attribute condition, then maps google.subject = the token's sub (the identity's object ID).

locals {
  pool_id = var.pool_id_random_suffix ? "${var.pool_id}-${random_id.pool_suffix.hex}" : var.pool_id
  # The token version decides the issuer and the audience claim (the app's accessTokenAcceptedVersion).
  issuer_uri = var.token_version == 1 ? "https://sts.windows.net/${var.tenant_id}/" : "https://login.microsoftonline.com/${var.tenant_id}/v2.0"
  audience   = var.token_version == 1 ? "api://${azuread_application.audience.client_id}" : azuread_application.audience.client_id
  # Built from names, not read back from the resources: the Function App's settings use these,
  # and the provider's condition uses the Function App's identity; no dependency cycle.
  pool_name       = "projects/${var.project_number}/locations/global/workloadIdentityPools/${local.pool_id}"
  provider_name   = "${local.pool_name}/providers/${var.provider_id}"
  service_account = "${var.service_account_id}@${var.project_id}.iam.gserviceaccount.com"
  # Keyed by name (known at plan time), valued by principal:// member (known after apply).
  principals = { for name, id in var.allowed_principals : name => "principal://iam.googleapis.com/${local.pool_name}/subject/${id}" }
  # Who holds the BigQuery roles: the service account, or (direct resource access) the principals.
  bigquery_members = var.impersonate_service_account ? { service_account = "serviceAccount:${local.service_account}" } : local.principals
}

# -- Entra: the audience app ------------------------------------------------------------------

resource "azuread_application" "audience" {
  display_name     = var.audience_app_display_name
  sign_in_audience = "AzureADMyOrg"

  api {
    requested_access_token_version = var.token_version
  }

  lifecycle {
    ignore_changes = [identifier_uris] # managed by azuread_application_identifier_uri
  }
}

resource "azuread_application_identifier_uri" "audience" {
  application_id = azuread_application.audience.id
  identifier_uri = "api://${azuread_application.audience.client_id}"
}

# Without a service principal in the tenant, Entra refuses tokens for the app (AADSTS500011).
resource "azuread_service_principal" "audience" {
  client_id = azuread_application.audience.client_id
}

# -- Google: the pool and the provider --------------------------------------------------------

resource "random_id" "pool_suffix" {
  byte_length = 2
}

resource "google_iam_workload_identity_pool" "azure" {
  project                   = var.project_id
  workload_identity_pool_id = local.pool_id
  display_name              = "Azure (Entra ID)"
  description               = "Workloads of Entra tenant ${var.tenant_id}"
}

resource "google_iam_workload_identity_pool_provider" "entra" {
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.azure.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "Entra ID (v${var.token_version} tokens)"
  attribute_mapping = {
    "google.subject" = "assertion.sub"
    "attribute.tid"  = "assertion.tid"
    "attribute.oid"  = "assertion.oid"
  }
  attribute_condition = "assertion.tid == '${var.tenant_id}' && assertion.oid in [${join(", ", formatlist("'%s'", values(var.allowed_principals)))}]"

  oidc {
    issuer_uri        = local.issuer_uri
    allowed_audiences = [local.audience]
  }
}

# -- What the federated identities may do -----------------------------------------------------

resource "google_service_account" "bigquery" {
  count        = var.impersonate_service_account ? 1 : 0
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "BigQuery reader for Azure workloads"
}

resource "google_service_account_iam_member" "workload_identity_user" {
  for_each           = var.impersonate_service_account ? local.principals : {}
  service_account_id = google_service_account.bigquery[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = each.value
}

resource "google_project_iam_member" "bigquery_job_user" {
  for_each = local.bigquery_members
  project  = var.project_id
  role     = "roles/bigquery.jobUser"
  member   = each.value
}

resource "google_bigquery_dataset_iam_member" "data_viewer" {
  for_each   = local.bigquery_members
  project    = var.project_id
  dataset_id = var.bigquery_dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = each.value
}
