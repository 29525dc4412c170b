"""`kafkube top`'s tables, as kubectl's `TopCmdPrinter` prints them: CPU in millicores
(`250m`), memory in `Mi` (both rounded up from the samples, then memory floored to Mi),
and for nodes the share of allocatable CPU and memory (`37%`, truncated); a node without
a current sample shows `<unknown>`. Pure; used by `services.cli.top`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from schemas.metrics import NodeMetrics, PodMetrics, Usage
from schemas.quantity import cpu_millis, memory_bytes, parse_quantity

NODE_HEADERS = ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
POD_HEADERS = ["NAME", "CPU(cores)", "MEMORY(bytes)"]
UNKNOWN = "<unknown>"
Row = list[str]


def cpu_cell(cores: Decimal) -> str:
    return f"{cpu_millis(cores)}m"


def memory_cell(amount: Decimal) -> str:
    return f"{memory_bytes(amount) // 2**20}Mi"


def percent_cell(used: int, available: int) -> str:
    """kubectl's `int64(float64(used) / float64(available) * 100)`."""
    return f"{int(used / available * 100)}%" if available else UNKNOWN


def node_rows(metrics: list[NodeMetrics], allocatable: Mapping[str, Mapping[str, str]]) -> list[Row]:
    """One row per node of `allocatable` (its `status.allocatable`), by name."""
    by_name = {m.metadata.name: m for m in metrics}
    rows = []
    for name in sorted(allocatable):
        sample = by_name.get(name)
        if sample is None:
            rows.append([name, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN])
            continue
        cpu, memory = parse_quantity(sample.usage.cpu), parse_quantity(sample.usage.memory)
        available = allocatable[name]
        rows.append([name, cpu_cell(cpu), percent_cell(cpu_millis(cpu), cpu_millis(available.get("cpu", "0"))),
                     memory_cell(memory),
                     percent_cell(memory_bytes(memory), memory_bytes(available.get("memory", "0")))])
    return rows


def _total(usages: list[Usage]) -> tuple[Decimal, Decimal]:
    return (sum((parse_quantity(u.cpu) for u in usages), Decimal(0)),
            sum((parse_quantity(u.memory) for u in usages), Decimal(0)))


def pod_table(metrics: list[PodMetrics], *, containers: bool, namespaces: bool) -> tuple[Row, list[Row]]:
    """Headers and rows: a pod's containers summed, or (`--containers`) one row per container."""
    headers = (["POD"] if containers else []) + POD_HEADERS
    headers = (["NAMESPACE"] if namespaces else []) + headers
    rows = []
    for pod in metrics:
        lead = [pod.metadata.namespace or ""] if namespaces else []
        if containers:
            for c in pod.containers:
                cpu, memory = _total([c.usage])
                rows.append([*lead, pod.metadata.name or "", c.name, cpu_cell(cpu), memory_cell(memory)])
        else:
            cpu, memory = _total([c.usage for c in pod.containers])
            rows.append([*lead, pod.metadata.name or "", cpu_cell(cpu), memory_cell(memory)])
    return headers, rows
