"""A stand-in Terraform provider: serves a real provider's schema over the plugin protocol, offline.

``python -m tools.tfstub.provider SCHEMA.json`` is what the provider executable of the filesystem mirror
runs (see :mod:`tools.tfstub.mirror`). The go-plugin handshake on stdout, the TLS server certificate and
the gRPC controller/stdio services come from the ``tf`` package (PyPI ``tf``, tfplugin6 stubs generated
from HashiCorp's protocol file); this module supplies only the Provider service, generic over any schema
in ``terraform providers schema -json`` shape (:mod:`tools.tfstub.cdktn_schema` makes one).

What it answers, and why that is enough for ``init``/``validate``/``terraform test`` with ``command = plan``
(protocol: https://developer.hashicorp.com/terraform/plugin/terraform-plugin-protocol and
``tfplugin6.proto`` in hashicorp/terraform ``docs/plugin-protocol``):

- GetProviderSchema / GetMetadata: the schema. Terraform itself checks every argument, block, type,
  required flag and nesting limit against it ("Unsupported argument", "Missing required argument", ...).
- Validate*Config, ConfigureProvider: no diagnostics (the provider's own value checks are not in a schema).
- PlanResourceChange: the proposed new state, with every computed attribute that the configuration leaves
  null *unknown* on create ("known after apply"), as a real provider plans it.
- ReadDataSource: the configuration with its computed attributes filled with plausible values of the
  right type (tests pin the ones they assert on with ``override_data``).
- UpgradeResourceState / ReadResource / ImportResourceState: the state given back unchanged.
- ApplyResourceChange: refused with an error diagnostic — a stand-in must never pretend to create anything.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from tf import provider as tf_provider
from tf import runner
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as rpc
from tf.types import Unknown
from tf.utils import read_dynamic_value, to_dynamic_value

from tools.tfstub.values import plan_block, prune, read_data, used_types

Json = dict[str, Any]
_NESTING = {
    "single": pb.Schema.NestedBlock.SINGLE,
    "list": pb.Schema.NestedBlock.LIST,
    "set": pb.Schema.NestedBlock.SET,
    "map": pb.Schema.NestedBlock.MAP,
    "group": pb.Schema.NestedBlock.GROUP,
}
# cdktf adds the `alias` meta-argument to every provider class; it is Terraform's, not the provider's.
_META_ARGUMENTS = {"alias"}


def _schema_block(block: Json, skip: set[str] = frozenset()) -> pb.Schema.Block:  # type: ignore[assignment]
    attrs = [
        pb.Schema.Attribute(
            name=name,
            type=json.dumps(a["type"]).encode(),
            required=a.get("required", False),
            optional=a.get("optional", False),
            computed=a.get("computed", False),
            sensitive=a.get("sensitive", False),
        )
        for name, a in sorted(block.get("attributes", {}).items())
        if name not in skip
    ]
    blocks = [
        pb.Schema.NestedBlock(
            type_name=name,
            block=_schema_block(b["block"]),
            nesting=_NESTING[b["nesting_mode"]],
            min_items=b.get("min_items", 0),
            max_items=b.get("max_items", 0),
        )
        for name, b in sorted(block.get("block_types", {}).items())
    ]
    return pb.Schema.Block(attributes=attrs, block_types=blocks)


def _schema(entry: Json, skip: set[str] = frozenset()) -> pb.Schema:  # type: ignore[assignment]
    return pb.Schema(version=entry.get("version", 0), block=_schema_block(entry["block"], skip))


def _error(summary: str, detail: str = "") -> pb.Diagnostic:
    return pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)


class StandInServicer(rpc.ProviderServicer):  # type: ignore[misc]
    """The tfplugin6 Provider service over one schema file."""

    def __init__(self, schema: Json) -> None:
        self.schema = schema
        self.resources: dict[str, Json] = schema["resource_schemas"]
        self.data_sources: dict[str, Json] = schema["data_source_schemas"]
        self._response = pb.GetProviderSchema.Response(
            provider=_schema(schema["provider"], _META_ARGUMENTS),
            resource_schemas={k: _schema(v) for k, v in self.resources.items()},
            data_source_schemas={k: _schema(v) for k, v in self.data_sources.items()},
            server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
        )

    def GetMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.GetMetadata.Response(
            server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=k) for k in self.resources],
            data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=k) for k in self.data_sources],
        )

    def GetProviderSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._response

    def ValidateProviderConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ValidateResourceConfig.Response()

    def ValidateDataResourceConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ValidateDataResourceConfig.Response()

    def ConfigureProvider(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ConfigureProvider.Response()

    def UpgradeResourceState(self, request: Any, context: grpc.ServicerContext) -> Any:
        state = json.loads(request.raw_state.json) if request.raw_state.json else None
        return pb.UpgradeResourceState.Response(upgraded_state=to_dynamic_value(state))

    def ReadResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ReadResource.Response(new_state=request.current_state, private=request.private)

    def PlanResourceChange(self, request: Any, context: grpc.ServicerContext) -> Any:
        block = self.resources[request.type_name]["block"]
        planned = plan_block(
            block,
            read_dynamic_value(request.config),
            read_dynamic_value(request.proposed_new_state),
            read_dynamic_value(request.prior_state),
            Unknown,
        )
        return pb.PlanResourceChange.Response(
            planned_state=to_dynamic_value(planned), legacy_type_system=True
        )

    def ApplyResourceChange(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ApplyResourceChange.Response(
            diagnostics=[
                _error(
                    "Stand-in provider", "This provider serves a schema for offline checks; it cannot apply."
                )
            ]
        )

    def ImportResourceState(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ImportResourceState.Response(
            diagnostics=[
                _error(
                    "Stand-in provider", "This provider serves a schema for offline checks; it cannot import."
                )
            ]
        )

    def ReadDataSource(self, request: Any, context: grpc.ServicerContext) -> Any:
        block = self.data_sources[request.type_name]["block"]
        state = read_data(block, read_dynamic_value(request.config))
        return pb.ReadDataSource.Response(state=to_dynamic_value(state))

    def GetFunctions(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.GetFunctions.Response()

    def StopProvider(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.StopProvider.Response()


class _Named:
    """What ``tf.runner.run_provider`` uses of its ``tf.iface.Provider`` once the servicer is ours: a name."""

    def __init__(self, name: str) -> None:
        self._name = name

    def full_name(self) -> str:
        return f"registry.terraform.io/hashicorp/{self._name}"


def _exit_with_parent() -> None:
    """Exit when the process that started this one goes away (Terraform killed, a test interrupted):
    a stand-in must never outlive its caller. Polls the parent PID once a second."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str]) -> int:
    """Serve ``argv[0]`` (a schema JSON file named ``<provider>.json``) until Terraform stops the plugin.

    With ``TFSTUB_CONFIG_DIR`` set, only the types its ``.tf`` files declare are served: Terraform
    decodes every schema a provider returns on every run, and google's 1,846 types cost seconds each
    time; a type outside the set is refused as unsupported, as the real provider refuses a misspelt one.
    """
    path = Path(argv[0])
    schema = json.loads(path.read_text())
    if os.environ.get("TFSTUB_CONFIG_DIR"):
        schema = prune(schema, used_types(Path(os.environ["TFSTUB_CONFIG_DIR"])))
    servicer = StandInServicer(schema)
    _exit_with_parent()
    # tf.runner builds tf.provider.ProviderServicer(provider); hand it ours instead, keeping its go-plugin
    # handshake, TLS and controller services.
    tf_provider.ProviderServicer = lambda _provider: servicer
    runner.run_provider(_Named(path.stem), [sys.argv[0], *argv[1:]])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
