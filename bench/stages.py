"""Where a write's time goes, from the services' own histograms: the mean of each stage
over what happened between two scrapes of their /metrics. Used by `bench.http_latency`
(the apiserver's stages and the request writer's transaction) and `bench.startup` (the
transactions of the API's manifest intake and request writer)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.transactional import STAGES as TRANSACTION_STAGES

APISERVER = "apiserver_write_stage_duration_seconds"  # request, answer, stored
TRANSACTION = "kafkube_transaction_stage_duration_seconds"  # per loop group: services.runtime.transactional.STAGES

Stage = tuple[str, str, str]  # (histogram, its `group` label or "", its `stage` label)
Totals = dict[Stage, tuple[float, float]]  # -> (sum of seconds, count)


def transaction_columns(group: str, prefix: str = "") -> dict[str, Stage]:
    """`<prefix><stage>_ms` columns of one transactional loop's stages, in their order."""
    return {f"{prefix}{stage}_ms": (TRANSACTION, group, stage) for stage in TRANSACTION_STAGES}


async def stage_totals(addresses: list[str]) -> Totals:
    """The running sum and count of every stage histogram the services at `addresses` serve."""
    totals: Totals = {}
    async with aiohttp.ClientSession() as plain:
        for address in addresses:
            async with plain.get(f"http://{address}/metrics") as answer:
                text = await answer.text()
            for family in text_string_to_metric_families(text):
                if family.name not in (APISERVER, TRANSACTION):
                    continue
                for sample in family.samples:
                    key = (family.name, sample.labels.get("group", ""), sample.labels.get("stage", ""))
                    total, count = totals.get(key, (0.0, 0.0))
                    if sample.name.endswith("_sum"):
                        totals[key] = (total + sample.value, count)
                    elif sample.name.endswith("_count"):
                        totals[key] = (total, count + sample.value)
    return totals


def stage_means(before: Totals, after: Totals, columns: Mapping[str, Stage]) -> dict[str, float]:
    """Each column's stage mean in ms over what happened between the two scrapes (nan: none)."""
    means = {}
    for column, stage in columns.items():
        total, count = after.get(stage, (0.0, 0.0))
        total0, count0 = before.get(stage, (0.0, 0.0))
        means[column] = (total - total0) / (count - count0) * 1000 if count > count0 else float("nan")
    return means
