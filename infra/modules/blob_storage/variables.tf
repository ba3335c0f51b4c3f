variable "resource_group_name" {
  type        = string
  description = "Resource group of the storage account."
}

variable "location" {
  type        = string
  description = "Azure region of the storage account."
}

variable "storage_account_name" {
  type        = string
  description = "Globally unique storage account name (3-24 lowercase letters and digits)."
}

variable "container_name" {
  type        = string
  description = "The private container the Cloud Function lists."
}

variable "tags" {
  type        = map(string)
  description = "Tags for the storage account."
  default     = {}
}
