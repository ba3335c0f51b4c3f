"""Azure's side of the lab: Entra ID (tokens, managed identity), the Blob gateway in front of Azurite."""
