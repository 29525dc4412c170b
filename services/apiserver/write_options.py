"""The options of a write from its query, as kube-apiserver validates Create/Update/Patch/
DeleteOptions: `dryRun` (only `All`), `fieldManager` (printable, at most 128 characters;
by default the User-Agent up to its first `/`, e.g. `kubectl`), `force` (apply patches
only, where a field manager is required). Pure; used by `services.apiserver.writes`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from multidict import MultiMapping

from services.apiserver.http import BadBody

FIELD_MANAGER_MAX_LENGTH = 128
Verb = Literal["Create", "Update", "Patch", "Delete"]


@dataclass(frozen=True, slots=True)
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    force: bool = False


class InvalidOptions(BadBody):
    """Upstream's 422 on invalid options, e.g. `PatchOptions.meta.k8s.io "" is invalid: ...`."""

    def __init__(self, verb: Verb, problems: list[str]) -> None:
        super().__init__(f'{verb}Options.meta.k8s.io "" is invalid: ' + ", ".join(problems), reason="Invalid")


def manager_from_user_agent(user_agent: str) -> str:
    """Upstream's prefixFromUserAgent: before the first `/`, printable, at most 128 characters."""
    return "".join(c for c in user_agent.split("/")[0] if c.isprintable())[:FIELD_MANAGER_MAX_LENGTH]


def write_options(query: MultiMapping[str], user_agent: str, verb: Verb, *, applying: bool = False) -> WriteOptions:
    """The options of one write, or InvalidOptions."""
    problems = [f'dryRun: Unsupported value: "{v}": supported values: "All"'
                for v in query.getall("dryRun", []) if v != "All"]
    manager = query.get("fieldManager", "")
    if len(manager) > FIELD_MANAGER_MAX_LENGTH:
        problems.append(f"fieldManager: Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes")
    elif not manager.isprintable():
        problems.append(f"fieldManager: Invalid value: {manager!r}: must only contain printable characters")
    if applying and not manager:
        problems.append("fieldManager: Required value: is required for apply patch")
    if "force" in query and verb == "Patch" and not applying:
        problems.append("force: Forbidden: may not be specified for non-apply patch")
    if problems:
        raise InvalidOptions(verb, problems)
    return WriteOptions(dry_run="dryRun" in query, field_manager=manager or manager_from_user_agent(user_agent),
                        force=query.get("force") in ("true", "1"))
