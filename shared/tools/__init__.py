"""The federation for tools that do not import ``shared/``: gcloud, bq, Terraform, the Azure CLI, Go/Java/Node SDKs.

* :mod:`shared.tools.executable` — Google's *executable source*: a command that prints the Azure
  subject token in the documented JSON response, so any Google client library exchanges it itself.
* :mod:`shared.tools.credential_file` — the ``external_account`` credential file that runs it.
* :mod:`shared.tools.token_file` — keeps a fresh Google ID token in a file, for
  ``AZURE_FEDERATED_TOKEN_FILE``, ``ARM_OIDC_TOKEN_FILE_PATH`` and ``az login --federated-token``.
* :mod:`shared.tools.cli` — their ``federation`` sub-commands.
"""
