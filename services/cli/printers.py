"""How the CLI shows objects: kubectl's tables, YAML/JSON. Pure functions; the columns of
each kind and the merge of desired with observed are `schemas.printing` (shared with the
HTTP API's server-side tables)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import orjson
import yaml

from schemas.printing import COLUMNS, Obj, Row, age, display_name, merged, objects

__all__ = ["COLUMNS", "age", "merged", "objects", "render_table", "table", "to_json", "to_yaml",
           "describe_service_lines"]


def table(headers: Sequence[str], rows: Sequence[Row]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    lines = ["   ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip()
             for line in [list(headers), *rows]]
    return "\n".join(lines)


def to_yaml(objs: list[Obj]) -> str:
    if len(objs) == 1:
        return yaml.safe_dump(objs[0], sort_keys=False)
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objs,
                           "metadata": {"resourceVersion": ""}}, sort_keys=False)


def to_json(objs: list[Obj]) -> str:
    body: Any = objs[0] if len(objs) == 1 else {"apiVersion": "v1", "kind": "List", "items": objs}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()


def render_table(plural: str, objs: list[Obj], *, now: datetime | None = None,
                 wide: bool = False, all_namespaces: bool = False, name_prefix: str = "") -> str:
    """kubectl's table; with several kinds in one `get`, names carry `name_prefix`
    (`deployment.apps/`), as kubectl prints them."""
    now = now or datetime.now(timezone.utc)
    names, columns, wide_names, wide_columns = COLUMNS.get(plural, ([], lambda o: [], [], None))
    headers = ["NAME", *names, "AGE"] + (wide_names if wide and wide_columns else [])
    if all_namespaces:
        headers = ["NAMESPACE", *headers]
    rows = []
    for o in objs:
        meta = o["metadata"]
        row = [name_prefix + display_name(plural, o), *columns(o), age(meta.get("creationTimestamp"), now)]
        if wide and wide_columns:
            row += wide_columns(o)
        rows.append([meta.get("namespace", ""), *row] if all_namespaces else row)
    return table(headers, rows)


def describe_service_lines(svc: Obj, endpoints: Obj | None) -> list[str]:
    """The body of `kubectl describe service` between Annotations and Events (for
    `describe.render`, like `render_pod_body`); `endpoints` as `objects` shows them."""
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>"
    lines = [("Selector", selector), ("Type", kind)]
    if kind != "ExternalName":
        ips = spec.get("clusterIPs") or [spec.get("clusterIP") or "None"]
        lines += [("IP Family Policy", "SingleStack"), ("IP Families", "IPv4"),
                  ("IP", spec.get("clusterIP") or "None"), ("IPs", ",".join(ips))]
    else:
        lines.append(("External Name", spec.get("externalName") or ""))
    if spec.get("externalIPs"):
        lines.append(("External IPs", ",".join(spec["externalIPs"])))
    subsets = (endpoints or {}).get("subsets") or []
    for port in spec.get("ports") or []:
        name, proto = port.get("name") or "<unset>", port.get("protocol", "TCP")
        target = port.get("targetPort", port.get("port"))
        lines += [("Port", f"{name}  {port.get('port')}/{proto}"), ("TargetPort", f"{target}/{proto}")]
        if port.get("nodePort"):
            lines.append(("NodePort", f"{name}  {port['nodePort']}/{proto}"))
        pairs = [f"{a.get('ip')}:{p.get('port')}" for s in subsets for p in s.get("ports") or []
                 if (p.get("name") or "") == (port.get("name") or "") for a in s.get("addresses") or []]
        lines.append(("Endpoints", ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")))
    lines.append(("Session Affinity", spec.get("sessionAffinity") or "None"))
    if kind in ("NodePort", "LoadBalancer"):
        lines.append(("External Traffic Policy", spec.get("externalTrafficPolicy") or "Cluster"))
    width = 26
    return [f"{label + ':':<{width}}{value}" for label, value in lines]
