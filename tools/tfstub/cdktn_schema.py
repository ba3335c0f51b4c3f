"""A provider's Terraform schema, read from its CDK Terrain prebuilt package (a PyPI wheel).

Each ``cdktn-provider-<name>`` wheel holds a jsii tarball (``<pkg>/_jsii/*.jsii.tgz``) whose
``package/lib/<resource>/**/*.js`` is code generated from the provider's own schema
(``terraform providers schema -json``). That code keeps every fact Terraform needs, in a fixed shape:

- ``static tfResourceType = "google_project";`` names the resource, data source or provider;
- ``// <hcl_name> - computed: <bool>, optional: <bool>, required: <bool>`` precedes every attribute's
  getter, whose body says its type (``getStringAttribute``, ``Fn.tolist(getListAttribute)`` = a set, ...)
  or, for nested objects, holds ``new <Struct>OutputReference`` (at most one) / ``new <Struct>List(..,
  <wrapsSet>)``;
- ``synthesizeHclAttributes()`` and ``<struct>ToHclTerraform()`` list the arguments a configuration may
  set, each with ``isBlock`` and ``type`` (``simple``/``list``/``set``/``map``/``struct``).

:func:`provider_schema` turns that into the JSON shape of ``terraform providers schema -json``
(``provider``, ``resource_schemas``, ``data_source_schemas``; blocks with ``attributes`` and
``block_types``), which :mod:`tools.tfstub.provider` serves over the plugin protocol. Source of the shape:
https://developer.hashicorp.com/terraform/cli/commands/providers/schema
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

Json = dict[str, Any]

_CLASS = re.compile(r"^class (\w+) extends ([\w.]+) \{\n(.*?)^\}", re.M | re.S)
_HCL_FN = re.compile(r"^function (\w+)ToHclTerraform\(struct\) \{\n(.*?)^\}", re.M | re.S)
_HCL_ATTR = re.compile(
    r"^\s+(\w+): \{\n\s+value: [^\n]*\n\s+isBlock: (true|false),\n\s+type: \"(\w+)\",\n"
    r"\s+storageClassType: \"(\w+)\",",
    re.M,
)
_GETTER = re.compile(
    r"^    // (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n"
    r"(?:    _\w+(?: = new ([\w.]+)\(this, \"\w+\"(?:, (true|false))?\))?;\n)?"
    r"    get \w+\(\) \{\n\s+return ([^\n]+)",
    re.M,
)
_RESOURCE_TYPE = re.compile(r'static tfResourceType = "(\w+)";')
_PRIMITIVE_GETTERS = {
    "getStringAttribute": "string",
    "getNumberAttribute": "number",
    "getBooleanAttribute": "bool",
    "getListAttribute": ["list", "string"],
    "getNumberListAttribute": ["list", "number"],
    "getStringMapAttribute": ["map", "string"],
    "getNumberMapAttribute": ["map", "number"],
    "getBooleanMapAttribute": ["map", "bool"],
    "interpolationForAttribute": "dynamic",
}
_HCL_COLLECTIONS = {
    "stringList": "string",
    "numberList": "number",
    "booleanList": "bool",
    "numberListList": ["list", "number"],
}
_HCL_MAPS = {"stringMap": "string", "numberMap": "number", "booleanMap": "bool", "anyMap": "dynamic"}


class _Module:
    """The generated classes and ``ToHclTerraform`` functions of one resource directory."""

    def __init__(self, sources: list[str]) -> None:
        self.classes: dict[str, tuple[str, str]] = {}
        self.hcl: dict[str, dict[str, tuple[bool, str, str]]] = {}
        self._stack: set[str] = set()
        for text in sources:
            for name, base, body in _CLASS.findall(text):
                self.classes[name] = (base, body)
            for fn, body in _HCL_FN.findall(text):
                self.hcl[fn[:1].upper() + fn[1:]] = _hcl_attrs(body)

    def root(self) -> tuple[str, str, str] | None:
        """(kind, type name, class name) of the resource, data source or provider defined here."""
        for name, (base, body) in self.classes.items():
            kind = {
                "cdktn.TerraformResource": "resource",
                "cdktn.TerraformDataSource": "data",
                "cdktn.TerraformProvider": "provider",
            }.get(base)
            found = _RESOURCE_TYPE.search(body)
            if kind and found:
                return kind, found.group(1), name
        return None

    def block(self, class_name: str, hcl: dict[str, tuple[bool, str, str]] | None = None) -> Json:
        """The schema block of a generated class: its getters, arguments from its HCL function."""
        _, body = self.classes[class_name]
        if class_name in self._stack:  # a struct that refers to itself: stop one level down
            return {"attributes": {}}
        self._stack.add(class_name)
        try:
            return self._block(body, class_name, hcl)
        finally:
            self._stack.discard(class_name)

    def _block(self, body: str, class_name: str, hcl: dict[str, tuple[bool, str, str]] | None) -> Json:
        if hcl is None:
            hcl = _hcl_attrs(body) if class_name not in self.hcl else self.hcl[class_name]
        attributes: Json = {}
        block_types: Json = {}
        for name, computed, optional, required, new_cls, wraps_set, ret in _GETTER.findall(body):
            flags = {
                "computed": computed == "true",
                "optional": optional == "true",
                "required": required == "true",
            }
            is_block, hcl_type, storage = hcl.get(name, (False, "", ""))
            if is_block:
                block_types[name] = self._nested_block(name, new_cls, hcl_type, storage, flags)
                continue
            attr: Json = {"type": self._attr_type(ret, new_cls, wraps_set, hcl_type, storage)}
            attr.update({k: True for k, v in flags.items() if v})
            if not (attr.get("required") or attr.get("optional") or attr.get("computed")):
                attr["computed"] = True
            attributes[name] = attr
        for name, (
            is_block,
            hcl_type,
            storage,
        ) in hcl.items():  # arguments without a getter (provider structs)
            if name in attributes or name in block_types:
                continue
            if is_block:
                block_types[name] = self._nested_block(name, "", hcl_type, storage, {"required": False})
            else:
                attributes[name] = {"type": _hcl_type(hcl_type, storage), "optional": True}
        out: Json = {"attributes": attributes}
        if block_types:
            out["block_types"] = block_types
        return out

    def _nested_block(
        self, name: str, new_cls: str, hcl_type: str, storage: str, flags: dict[str, bool]
    ) -> Json:
        struct = _struct_of(new_cls or storage)
        element = struct + "OutputReference"
        if element in self.classes:
            inner = self.block(element, self.hcl.get(struct, {}))
        else:
            inner = self.block_from_hcl(struct)
        if hcl_type == "struct":
            return {"nesting_mode": "single", "block": inner}
        out: Json = {"nesting_mode": "set" if hcl_type == "set" else "list", "block": inner}
        if flags.get("required"):
            out["min_items"] = 1
        if new_cls.endswith("OutputReference"):
            out["max_items"] = 1
        return out

    def block_from_hcl(self, struct: str) -> Json:
        """A nested block with no OutputReference class (provider configuration): every argument optional."""
        attributes: Json = {}
        block_types: Json = {}
        for name, (is_block, hcl_type, storage) in self.hcl.get(struct, {}).items():
            if is_block:
                block_types[name] = self._nested_block(name, "", hcl_type, storage, {})
            else:
                attributes[name] = {"type": _hcl_type(hcl_type, storage), "optional": True}
        out: Json = {"attributes": attributes}
        if block_types:
            out["block_types"] = block_types
        return out

    def _attr_type(self, ret: str, new_cls: str, wraps_set: str, hcl_type: str, storage: str) -> Any:
        if hcl_type:
            return _hcl_type(hcl_type, storage)
        if new_cls == "cdktn.StringMap":
            return ["map", "string"]
        if new_cls == "cdktn.StringMapList":
            return ["list", ["map", "string"]]
        if new_cls:
            struct = _struct_of(new_cls)
            element = struct + "OutputReference"
            obj = ["object", self._object_attrs(element)] if element in self.classes else "dynamic"
            if new_cls.endswith("OutputReference"):
                return ["list", obj]
            return ["set" if wraps_set == "true" else "list", obj]
        is_set = "Fn.tolist(" in ret
        for getter, cty in _PRIMITIVE_GETTERS.items():
            if f"this.{getter}(" in ret:
                if is_set and isinstance(cty, list) and cty[0] == "list":
                    return ["set", cty[1]]
                return cty
        return "dynamic"

    def _object_attrs(self, class_name: str) -> Json:
        block = self.block(class_name, {})
        types: Json = {name: a["type"] for name, a in block["attributes"].items()}
        for name, nested in block.get("block_types", {}).items():
            types[name] = [
                "list",
                ["object", {k: a["type"] for k, a in nested["block"]["attributes"].items()}],
            ]
        return types


def _hcl_attrs(body: str) -> dict[str, tuple[bool, str, str]]:
    return {m[0]: (m[1] == "true", m[2], m[3]) for m in _HCL_ATTR.findall(body)}


def _hcl_type(hcl_type: str, storage: str) -> Any:
    if hcl_type == "simple":
        return {"string": "string", "number": "number", "boolean": "bool"}.get(storage, "dynamic")
    if hcl_type in ("list", "set") and storage in _HCL_COLLECTIONS:
        return [hcl_type, _HCL_COLLECTIONS[storage]]
    if hcl_type == "map":
        return ["map", _HCL_MAPS.get(storage, "dynamic")]
    return "dynamic"


def _struct_of(class_name: str) -> str:
    name = class_name.rsplit(".", 1)[-1]
    for suffix in ("OutputReference", "List"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _js_sources(wheel: Path) -> dict[str, list[str]]:
    """``lib/<dir>`` → the texts of its ``.js`` files, read from the wheel's jsii tarball in memory."""
    with zipfile.ZipFile(wheel) as zf:
        tgz = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        data = zf.read(tgz)
    modules: dict[str, list[str]] = defaultdict(list)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) < 4 or parts[1] != "lib" or not member.name.endswith(".js"):
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                text = handle.read().decode()
                modules[parts[2]].append(text.split("\n//# sourceMappingURL=", 1)[0])
    return modules


def provider_schema(wheel: Path) -> Json:
    """The provider's schema in ``terraform providers schema -json`` shape, plus its version.

    Raises ``ValueError`` if the wheel defines no provider class.
    """
    out: Json = {"resource_schemas": {}, "data_source_schemas": {}}
    for sources in _js_sources(wheel).values():
        module = _Module(sources)
        root = module.root()
        if root is None:
            continue
        kind, type_name, class_name = root
        block = module.block(class_name)
        if kind == "provider":
            out["provider"] = {"version": 0, "block": block}
            version = re.search(r"providerVersion: '([\d.]+)'", "".join(sources))
            out["provider_version"] = version.group(1) if version else ""
        else:
            key = "resource_schemas" if kind == "resource" else "data_source_schemas"
            out[key][type_name] = {"version": 0, "block": block}
    if "provider" not in out:
        raise ValueError(f"{wheel}: no provider class in its jsii assembly")
    return out


def main(argv: list[str]) -> int:
    """``python -m tools.tfstub.cdktn_schema WHEEL OUT.json``: write one provider's schema."""
    wheel, target = Path(argv[0]), Path(argv[1])
    target.write_text(json.dumps(provider_schema(wheel), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
