"""The admin route: drive faults, the clock and token lifetimes of a running lab over HTTP.

Used by the demo, the benchmarks and anyone poking at ``python -m lab`` with curl::

    curl -X POST $LAB_ADMIN_URL/faults -d '{"hop": "gcp.sts", "script": ["503", "503"]}'
    curl $LAB_ADMIN_URL/counters
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from flask import Response, jsonify, request

from lab.core import wire_errors
from lab.core.controls import Controls, matches
from lab.core.service import Service

FAULT_FIELDS = ("latency_s", "script", "failure_rate", "failure_kinds", "down_for_s", "hang_s")


class Administered(Protocol):
    """What the admin route needs of a running lab (:class:`lab.Lab` is one)."""

    @property
    def controls(self) -> Controls: ...

    @property
    def services(self) -> Mapping[str, Service]: ...

    def env(self) -> dict[str, str]: ...

    def counts(self) -> dict[str, int]: ...

    def reset(self) -> None: ...


def create(lab: Administered) -> Service:
    """An uninstrumented service (its own requests are not hops and never fail)."""
    service = Service(
        "lab.admin", lab.controls, lambda status, msg: wire_errors.google_api(status, msg), instrumented=False
    )

    def body() -> dict[str, Any]:
        data = request.get_json(force=True, silent=True)
        return data if isinstance(data, dict) else {}

    @service.route("/endpoints", "endpoints")
    def endpoints() -> Response:
        return jsonify({name: svc.url for name, svc in lab.services.items()})

    @service.route("/env", "env")
    def env() -> Response:
        return jsonify(lab.env())

    @service.route("/counters", "counters")
    def counters() -> Response:
        return jsonify(lab.counts())

    @service.route("/trace", "trace")
    def hop_trace() -> Response:
        return jsonify([record.as_dict() for record in lab.controls.trace.records()])

    @service.route("/counters/reset", "counters_reset", methods=["POST"])
    def counters_reset() -> Response:
        lab.controls.reset_counts()
        return jsonify({})

    @service.route("/faults", "faults", methods=["POST", "DELETE"])
    def faults() -> Response:
        if request.method == "DELETE":
            lab.controls.clear_faults()
            return jsonify({})
        data = body()
        hop = data.get("hop")
        if not isinstance(hop, str) or not hop:
            return wire_errors.google_api(
                400, "'hop' is required: a hop name or prefix such as 'gcp.sts' or '*'."
            )
        served = frozenset().union(*(svc.hops for svc in lab.services.values()))
        if not any(matches(hop, name) for name in served):
            # A typo would otherwise be accepted and never fire.
            return wire_errors.google_api(
                400, f"no hop is {hop!r} or under it; the lab's hops: {', '.join(sorted(served))} (or '*')."
            )
        options = {k: data[k] for k in FAULT_FIELDS if k in data}
        if "failure_kinds" in options:
            options["failure_kinds"] = tuple(options["failure_kinds"])
        try:
            lab.controls.set_fault(hop, **options)
        except (TypeError, ValueError) as exc:
            return wire_errors.google_api(400, str(exc))
        return jsonify({"hop": hop, **data})

    @service.route("/clock", "clock", methods=["POST"])
    def clock() -> Response:
        try:
            lab.controls.clock_skew_s = float(body().get("skew_s", 0))
        except (TypeError, ValueError):
            return wire_errors.google_api(400, "'skew_s' must be a number of seconds.")
        return jsonify({"skew_s": lab.controls.clock_skew_s})

    @service.route("/tokens", "tokens", methods=["POST"])
    def tokens() -> Response:
        try:
            lifetime = int(body().get("lifetime_s", 3600))
        except (TypeError, ValueError):
            lifetime = 0
        if lifetime < 1:
            return wire_errors.google_api(400, "'lifetime_s' must be a positive whole number of seconds.")
        lab.controls.token_lifetime_s = lifetime
        return jsonify({"lifetime_s": lifetime})

    @service.route("/reset", "reset", methods=["POST"])
    def reset() -> Response:
        lab.reset()
        return jsonify({})

    return service
