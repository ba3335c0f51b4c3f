"""Settings for both directions: from the environment (named as each ecosystem names them) or code.

Validation happens up front and reports every problem at once, each naming its variable and
what a valid value looks like (:class:`shared.errors.SettingsError`).

Azure -> Google (:class:`AzureToGoogleSettings`)::

    GCP_WORKLOAD_IDENTITY_PROVIDER  projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<ID>
                                    (or just <ID> with GCP_PROJECT_NUMBER and GCP_WORKLOAD_IDENTITY_POOL)
    AZURE_TOKEN_AUDIENCE            the Entra app ID URI the provider allows, e.g. api://<client-id>
    GCP_SERVICE_ACCOUNT             optional: impersonate this account; unset = direct resource access
    AZURE_CREDENTIAL_SOURCE         managed_identity | workload_identity | client_secret | default
    AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST
    GOOGLE_APPLICATION_CREDENTIALS  a gcloud ``external_account`` file is accepted instead of the above

Google -> Azure (:class:`GoogleToAzureSettings`)::

    AZURE_TENANT_ID, AZURE_CLIENT_ID (the app registration with the federated credential), AZURE_AUTHORITY_HOST
    GOOGLE_ID_TOKEN_SOURCE          metadata | key_file | impersonation
    GOOGLE_ID_TOKEN_AUDIENCE        default api://AzureADTokenExchange
    GOOGLE_APPLICATION_CREDENTIALS  the key file (key_file); GOOGLE_IMPERSONATE_SERVICE_ACCOUNT (impersonation)

Both: GOOGLE_CLOUD_UNIVERSE_DOMAIN, GOOGLE_STS_TOKEN_URL, GOOGLE_IAM_CREDENTIALS_URL (sovereign
clouds and the offline lab).

Modules: ``common`` (retry settings, clouds, the checks both share), ``azure_to_google`` and
``google_to_azure`` (one direction each), ``external_account`` (gcloud's credential files).
"""

from shared.settings.azure_to_google import AzureToGoogleSettings
from shared.settings.common import (
    AUTHORITY_HOSTS,
    AZURE_SOURCES,
    CLOUD_PLATFORM_SCOPE,
    DEFAULT_UNIVERSE,
    ID_TOKEN_SOURCES,
    TOKEN_EXCHANGE_AUDIENCE,
    AzureSource,
    IdTokenSource,
    RetrySettings,
    https_url_problems,
    normalize_authority,
    read_with,
)
from shared.settings.google_to_azure import GoogleToAzureSettings

__all__ = [
    "AUTHORITY_HOSTS",
    "AZURE_SOURCES",
    "CLOUD_PLATFORM_SCOPE",
    "DEFAULT_UNIVERSE",
    "ID_TOKEN_SOURCES",
    "TOKEN_EXCHANGE_AUDIENCE",
    "AzureSource",
    "AzureToGoogleSettings",
    "GoogleToAzureSettings",
    "IdTokenSource",
    "RetrySettings",
    "https_url_problems",
    "normalize_authority",
    "read_with",
]
