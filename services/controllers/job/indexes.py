"""Completed indexes as Kubernetes writes them in `status.completedIndexes`:
ordered, compressed intervals (`"1,3-5,7"`). Pure (upstream's indexed_job_utils.go)."""

from __future__ import annotations

from collections.abc import Iterable


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """The indexes below `completions` that `text` lists; malformed parts are skipped."""
    out: set[int] = set()
    for part in (text or "").split(","):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        low, high = int(first), int(last) if last else int(first)
        out.update(range(low, min(high, completions - 1) + 1))
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    ordered = sorted(set(indexes))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)
