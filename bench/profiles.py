"""Latency profiles: what the lab adds to every request of each hop, in seconds.

``FLAT`` is the profile every figure used so far: 20 ms on every hop, so round trips show.

``CLOUD`` resembles what a function sees in the clouds on the **first request of a new
instance**, where every connection is new (TCP and TLS set-up included in the figure, as the lab
still closes its connections: see docs/BENCHMARKS.md). Few public measurements of these hops
exist, so each value is a stated assumption, with its reasoning and the sources that bound it in
``CLOUD_SOURCES`` (rendered into docs/BENCHMARKS.md). The keys are the lab's hop prefixes
(``lab/core/controls.py``: a prefix applies to every hop under it).
"""

from __future__ import annotations

FLAT_NAME = "flat 20 ms"
CLOUD_NAME = "cloud-like"

FLAT: dict[str, float] = {"*": 0.020}

CLOUD: dict[str, float] = {
    "azure.msi": 0.100,  # App Service identity endpoint, first token of an instance (goes to Entra)
    "gcp.metadata": 0.010,  # metadata server: on the host, mints a signed ID token
    "entra": 0.120,  # login.microsoftonline.com from Google Cloud: new TLS connection + validation
    "gcp.sts": 0.100,  # sts.googleapis.com from Azure: new TLS connection + validation
    "gcp.iam": 0.080,  # iamcredentials.googleapis.com generateAccessToken
    "azure.blob": 0.060,  # List Blobs, from Google Cloud, new TLS connection
    "gcp.bigquery": 0.300,  # jobs.query of SELECT CURRENT_DATE(), from Azure
}

CLOUD_SOURCES: dict[str, str] = {
    "azure.msi": "Assumption. The App Service identity endpoint is local to the instance, but the first token "
    "of an instance is a cache miss that it fetches from Entra. A public report measured about 1 s for this on "
    "Azure Functions (https://marcstan.net/blog/2019/03/managed-identity-and-azure-functions/, 2019); "
    "100 ms is deliberately modest, so the project's advantage is not overstated.",
    "gcp.metadata": "Assumption: a link-local HTTP server on the same host that signs a JWT; a few ms plus signing.",
    "entra": "Assumption: a new TLS connection (TCP + TLS 1.2/1.3: 2-3 round trips of ~20 ms to the nearest "
    "Microsoft edge) plus the federated-credential check (issuer keys, subject, audience) at the token endpoint.",
    "gcp.sts": "Assumption: as for Entra (2-3 round trips to the nearest Google front end) plus the pool "
    "provider's checks (issuer keys, attribute mapping and condition in CEL).",
    "gcp.iam": "Assumption: one more Google API call on a new connection, no external key fetch.",
    "azure.blob": "Assumption: a cross-cloud List Blobs of a small container on a new TLS connection.",
    "gcp.bigquery": "Assumption: jobs.query of a query that reads no table; BigQuery runs even a trivial query "
    "as a job (https://cloud.google.com/bigquery/docs/running-queries), in the low hundreds of ms.",
}

PROFILES: dict[str, dict[str, float]] = {CLOUD_NAME: CLOUD, FLAT_NAME: FLAT}
