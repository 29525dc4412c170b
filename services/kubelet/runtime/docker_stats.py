"""The Docker stats API's answer for one container → a `UsageSample`: cumulative CPU time
and the memory working set, which is usage less inactive file pages (`total_inactive_file`
under cgroup v1, `inactive_file` under v2), as cAdvisor and the kubelet count it, so page
cache the kernel can drop is not charged to the container. Pure; used by `docker.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.kubelet.runtime.base import UsageSample


def working_set(memory_stats: dict[str, Any]) -> int:
    usage = int(memory_stats.get("usage") or 0)
    stats = memory_stats.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    return max(0, usage - int(inactive or 0))


def usage_sample(stats: dict[str, Any]) -> UsageSample | None:
    """None for a container that is not running (Docker answers zeros and a zero `read`)."""
    cpu = (stats.get("cpu_stats") or {}).get("cpu_usage") or {}
    read = stats.get("read") or ""
    if not cpu.get("total_usage") or read.startswith("0001-"):
        return None
    return UsageSample(cpu_total_ns=int(cpu["total_usage"]),
                       working_set_bytes=working_set(stats.get("memory_stats") or {}), at=_timestamp(read))


def _timestamp(text: str) -> datetime:
    """Docker's RFC 3339 time with nanoseconds, to microseconds."""
    head, dot, rest = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(rest + '000000')[:6]}+00:00" if dot else f"{head}+00:00")
