"""What the stand-in providers answer, as plain values (no protocol): planned states, data, pruning.

Kept apart from :mod:`tools.tfstub.provider` (which needs the ``tf`` package, in its own venv) so the
main test suite can test it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

Json = dict[str, Any]


# -- values --------------------------------------------------------------------------------------


def plan_block(block: Json, config: Any, proposed: Any, prior: Any, unknown: Any) -> Any:
    """The planned object: ``proposed`` with unset computed attributes ``unknown`` when there is no prior.

    ``unknown`` is the msgpack codec's marker for an unknown value (``tf.types.Unknown`` in the provider).
    """
    if not isinstance(proposed, dict):
        return proposed
    config = config if isinstance(config, dict) else {}
    prior = prior if isinstance(prior, dict) else None
    out = dict(proposed)
    for name, attr in block.get("attributes", {}).items():
        if attr.get("computed") and config.get(name) is None and prior is None:
            out[name] = unknown
    for name, nested in block.get("block_types", {}).items():
        out[name] = _plan_nested(
            nested, config.get(name), proposed.get(name), (prior or {}).get(name), unknown
        )
    return out


def _plan_nested(nested: Json, config: Any, proposed: Any, prior: Any, unknown: Any) -> Any:
    inner = nested["block"]
    if proposed is None or proposed is unknown:
        return proposed
    if nested["nesting_mode"] in ("single", "group"):
        return plan_block(inner, config, proposed, prior, unknown)
    if nested["nesting_mode"] == "map":
        return {
            k: plan_block(inner, (config or {}).get(k), v, (prior or {}).get(k), unknown)
            for k, v in proposed.items()
        }
    configs = config if isinstance(config, list) else []
    priors = prior if isinstance(prior, list) else []
    return [
        plan_block(
            inner,
            configs[i] if i < len(configs) else None,
            v,
            priors[i] if i < len(priors) else None,
            unknown,
        )
        for i, v in enumerate(proposed)
    ]


def plausible(name: str, cty: Any) -> Any:
    """A value of type ``cty`` that reads like attribute ``name`` (numbers for *number, GUIDs for *_id)."""
    if cty == "string":
        if name.endswith("number"):
            return str(int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**12).rjust(12, "1")
        if name.endswith("_id") or name == "id":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        return f"stand-in-{name}"
    if cty == "number":
        return 0
    if cty == "bool":
        return False
    if isinstance(cty, list) and cty[0] in ("list", "set"):
        return []
    if isinstance(cty, list) and cty[0] == "map":
        return {}
    return None


def read_data(block: Json, config: Any) -> Any:
    """``config`` with every null computed attribute given a plausible value."""
    out = dict(config or {})
    for name, attr in block.get("attributes", {}).items():
        if attr.get("computed") and out.get(name) is None:
            out[name] = plausible(name, attr["type"])
    for name, nested in block.get("block_types", {}).items():
        value = out.get(name)
        if nested["nesting_mode"] in ("single", "group") and isinstance(value, dict):
            out[name] = read_data(nested["block"], value)
        elif isinstance(value, list):
            out[name] = [read_data(nested["block"], v) for v in value]
    return out


_DECLARED = re.compile(r'^\s*(resource|data)\s+"([A-Za-z0-9_]+)"', re.M)


def used_types(config_dir: Path) -> set[str]:
    """The resource and data source types the ``.tf`` files under ``config_dir`` declare."""
    return {m[1] for f in config_dir.rglob("*.tf") for m in _DECLARED.findall(f.read_text())}


def prune(schema: Json, types: set[str]) -> Json:
    """``schema`` serving only ``types``: what Terraform would say of any other type is the same."""
    pruned = dict(schema)
    for key in ("resource_schemas", "data_source_schemas"):
        pruned[key] = {k: v for k, v in schema[key].items() if k in types}
    return pruned
