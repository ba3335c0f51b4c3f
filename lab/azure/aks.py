"""AKS workload identity: the cluster's OIDC issuer and the kubelet's projected service-account token.

The issuer publishes what Entra reads to trust the cluster (Azure Workload Identity, "OpenID Connect
Issuer": ``{IssuerURL}/.well-known/openid-configuration`` and ``{IssuerURL}/openid/v1/jwks``,
https://azure.github.io/azure-workload-identity/docs/installation/self-managed-clusters/oidc-issuer.html).
AKS issuer URLs look like ``https://<region>.oic.prod-aks.azure.com/<tenant-id>/<cluster-guid>/``
(``az aks show --query oidcIssuerProfile.issuerUrl``; the format change reported in sigstore/fulcio#970);
tokens carry that string as ``iss`` while the lab serves the documents on loopback, as it does for
``accounts.google.com``.

:class:`ProjectedTokenFile` is the kubelet's part: it mints a service-account token for the pod's
account (``sub = system:serviceaccount:<namespace>:<name>``, ``aud = ["api://AzureADTokenExchange"]``,
the ``kubernetes.io`` claim with namespace, service account and pod) into the file the workload identity
webhook points ``AZURE_FEDERATED_TOKEN_FILE`` at, and rotates it: the kubelet "will start trying to
rotate the token if the token is older than 80 percent of its time to live or if the token is older
than 24 hours" (Kubernetes API, ``ServiceAccountTokenProjection.expirationSeconds``; default one hour).
The file is replaced by a rename, never rewritten in place, as the kubelet's atomic writer does.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from flask import Response, jsonify, request

from lab.core.controls import Controls
from lab.core.keys import KUBERNETES, Keys
from lab.core.service import Service

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
ROTATE_AT_FRACTION = 0.8
# The workload identity webhook's projected path (AZURE_FEDERATED_TOKEN_FILE in the pod).
PROJECTED_PATH = "/var/run/secrets/azure/tokens/azure-identity-token"


def issuer_url(tenant_id: str, cluster_id: str, region: str = "westeurope") -> str:
    """An AKS issuer URL in today's regional format (with its trailing slash)."""
    return f"https://{region}.oic.prod-aks.azure.com/{tenant_id}/{cluster_id}/"


def create_issuer(controls: Controls, keys: Keys, issuer: str) -> Service:
    """The cluster's OIDC discovery document and JWKS (HTTPS)."""
    service = Service("azure.aks_issuer", controls, lambda status, msg: _fault(status, msg))

    @service.route("/.well-known/openid-configuration", "discovery")
    def discovery() -> Response:
        return jsonify(
            {
                "issuer": issuer,
                "jwks_uri": f"{request.host_url.rstrip('/')}/openid/v1/jwks",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    @service.route("/openid/v1/jwks", "jwks")
    def jwks() -> Response:
        return jsonify(keys.jwks(KUBERNETES))

    return service


class ProjectedTokenFile:
    """Writes a projected service-account token for ``namespace/service_account`` to ``path`` and rotates it."""

    def __init__(
        self,
        keys: Keys,
        controls: Controls,
        path: Path,
        *,
        issuer: str,
        namespace: str,
        service_account: str,
        expiration_s: int = 3600,
        audience: str = TOKEN_EXCHANGE_AUDIENCE,
    ) -> None:
        self.keys, self.controls, self.path = keys, controls, Path(path)
        self.issuer, self.namespace, self.service_account = issuer, namespace, service_account
        self.expiration_s = expiration_s
        self.audience = audience
        self.service_account_uid = str(uuid.uuid4())
        self.pod = f"{service_account}-{uuid.uuid4().hex[:5]}"
        self.rotations = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def write(self) -> dict[str, Any]:
        """Mint a new token into the file now; returns its claims."""
        now = int(self.controls.now())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": [self.audience],
            "iat": now,
            "nbf": now,
            "exp": now + self.expiration_s,
            "kubernetes.io": {
                "namespace": self.namespace,
                "serviceaccount": {"name": self.service_account, "uid": self.service_account_uid},
                "pod": {"name": self.pod, "uid": str(uuid.uuid4())},
            },
        }
        token = self.keys.mint(KUBERNETES, claims)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".projected.")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(token)
        os.replace(temporary, self.path)
        self.rotations += 1
        return claims

    def start(self) -> ProjectedTokenFile:
        """Write the first token and rotate it at 80 % of its life until :meth:`stop`."""
        self.write()
        self._thread = threading.Thread(target=self._rotate, name="kubelet-token-rotation", daemon=True)
        self._thread.start()
        return self

    def _rotate(self) -> None:
        while not self._stop.wait(self.expiration_s * ROTATE_AT_FRACTION):
            self.write()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> ProjectedTokenFile:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _fault(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response
