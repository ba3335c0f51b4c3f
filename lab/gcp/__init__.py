"""Google's side of the lab: STS, IAM Credentials, the metadata server, OAuth 2.0 and BigQuery."""
