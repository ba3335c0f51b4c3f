# Today's majors, validated offline against google 8.7.0, azurerm 5.10.0 and azuread 3.10.0 schemas
# (make infra-check). google 8's removals (beyondcorp app connectors, IAP brand/client, ML Engine,
# Notebooks, Vertex AI schedules, ...) touch nothing here:
# https://registry.terraform.io/providers/hashicorp/google/latest/docs/guides/version_8_upgrade
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 8.0, < 9.0"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = ">= 3.10, < 4.0"
    }
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 5.0, < 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}

provider "google" {
  project = var.gcp_project_id
  region  = var.gcp_region
}

# azurerm 5 no longer registers resource providers on a subscription by default (4.x registered a
# "legacy" set); a fresh subscription needs the ones this stack uses. Register exactly those
# (https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs#resource_providers_to_register,
# the 5.0 upgrade guide: website/docs/guides/5.0-upgrade-guide.html.markdown in hashicorp/terraform-provider-azurerm).
# Without the permission to register (Microsoft.<Namespace>/register/action), set
# azure_register_resource_providers = false and register them once with `az provider register -n ...`.
provider "azurerm" {
  features {}
  subscription_id                 = var.azure_subscription_id
  tenant_id                       = var.azure_tenant_id
  resource_provider_registrations = "none"
  resource_providers_to_register  = var.azure_register_resource_providers ? local.azure_resource_providers : []
}

locals {
  # Web: the plan and the Function App; Storage: both accounts; Insights and OperationalInsights:
  # Application Insights and its workspace; ManagedIdentity: the app's system-assigned identity.
  azure_resource_providers = [
    "Microsoft.Web",
    "Microsoft.Storage",
    "Microsoft.Insights",
    "Microsoft.OperationalInsights",
    "Microsoft.ManagedIdentity",
  ]
}

provider "azuread" {
  tenant_id = var.azure_tenant_id
}
