"""`kafkube describe pod`: kubectl's pod layout (containers, states, restarts, conditions)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def render_pod_body(pod: Obj) -> list[str]:
    spec, status, meta = pod.get("spec") or {}, pod.get("status") or {}, pod["metadata"]
    lines = [
        f"Node:         {spec.get('nodeName') or '<none>'}",
        f"Start Time:   {status.get('startTime', '<unset>')}",
        f"Status:       {'Terminating' if meta.get('deletionTimestamp') else status.get('phase', 'Pending')}",
        f"IP:           {status.get('podIP') or ''}",
    ]
    if meta.get("ownerReferences"):
        owner = meta["ownerReferences"][0]
        lines.append(f"Controlled By:  {owner.get('kind')}/{owner.get('name')}")
    statuses = {c["name"]: c for c in status.get("containerStatuses") or []}
    init_statuses = {c["name"]: c for c in status.get("initContainerStatuses") or []}
    if spec.get("initContainers"):
        lines.append("Init Containers:")
        lines += [line for c in spec["initContainers"] for line in _container(c, init_statuses.get(c["name"]))]
    lines.append("Containers:")
    lines += [line for c in spec.get("containers") or [] for line in _container(c, statuses.get(c["name"]))]
    lines.append("Conditions:")
    lines.append("  Type              Status")
    lines += [f"  {c.get('type', ''):<17} {c.get('status', '')}" for c in status.get("conditions") or []]
    return lines


def _container(container: Obj, status: Obj | None) -> list[str]:
    status = status or {}
    lines = [f"  {container['name']}:"]
    lines.append(f"    Container ID:  {status.get('containerID', '')}")
    lines.append(f"    Image:         {container.get('image', '')}")
    if container.get("command"):
        lines.append(f"    Command:       {' '.join(container['command'])}")
    if container.get("args"):
        lines.append(f"    Args:          {' '.join(container['args'])}")
    lines += _state("State", status.get("state"))
    if status.get("lastState"):
        lines += _state("Last State", status["lastState"])
    lines.append(f"    Ready:         {str(bool(status.get('ready'))).capitalize()}")
    lines.append(f"    Restart Count: {status.get('restartCount', 0)}")
    resources = container.get("resources") or {}
    for title in ("limits", "requests"):
        if resources.get(title):
            lines.append(f"    {title.capitalize()}:")
            lines += [f"      {k}: {v}" for k, v in resources[title].items()]
    if container.get("env"):
        lines.append("    Environment:")
        lines += [f"      {e['name']}:  {e.get('value', '<set from a reference>')}" for e in container["env"]]
    return lines


def _state(title: str, state: Obj | None) -> list[str]:
    state = state or {}
    if "running" in state:
        return [f"    {title + ':':<15}Running", f"      Started:   {state['running'].get('startedAt', '')}"]
    if "terminated" in state:
        t = state["terminated"]
        return [f"    {title + ':':<15}Terminated", f"      Reason:    {t.get('reason', '')}",
                f"      Exit Code: {t.get('exitCode', '')}", f"      Started:   {t.get('startedAt', '')}",
                f"      Finished:  {t.get('finishedAt', '')}"]
    if "waiting" in state:
        w = state["waiting"]
        lines = [f"    {title + ':':<15}Waiting", f"      Reason:    {w.get('reason', '')}"]
        return lines + ([f"      Message:   {w['message']}"] if w.get("message") else [])
    return [f"    {title + ':':<15}Waiting"]
