output "name" {
  description = "The Function App's name."
  value       = var.name
}

output "hostname" {
  description = "<name>.azurewebsites.net"
  value       = local.hostname
}

output "principal_id" {
  description = "Object ID of the app's system-assigned identity: the Azure token's oid and sub, and the Google principal's subject."
  value       = local.principal_id
}

output "hosting" {
  description = "flex_consumption (FC1) or elastic_premium (EP1-EP3)."
  value       = local.flex ? "flex_consumption" : "elastic_premium"
}

output "app_settings" {
  description = "The Function App's application settings as Terraform sets them (the function's settings contract)."
  value       = local.flex ? azurerm_function_app_flex_consumption.this[0].app_settings : azurerm_linux_function_app.this[0].app_settings
}
