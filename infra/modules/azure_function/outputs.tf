output "name" {
  description = "The Function App's name."
  value       = azurerm_linux_function_app.this.name
}

output "hostname" {
  description = "<name>.azurewebsites.net"
  value       = azurerm_linux_function_app.this.default_hostname
}

output "principal_id" {
  description = "Object ID of the app's system-assigned identity: the Azure token's oid and sub, and the Google principal's subject."
  value       = azurerm_linux_function_app.this.identity[0].principal_id
}
