"""The kubelet's RuntimeClass lookup: a pod's `spec.runtimeClassName` to the runtime handler
its sandbox and containers run with (Docker's `HostConfig.Runtime`), as upstream's
runtimeclass.Manager.LookupRuntimeHandler: no class named → the Engine's default runtime;
a class the kubelet's view does not hold → RuntimeClassNotFound in upstream's words.

Pure: the pod and the view of desired RuntimeClasses (name → stored JSON) in. Called by
`services.kubelet.sync` before it creates a pod's sandbox or containers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.pod import Pod


class RuntimeClassNotFound(LookupError):
    """The pod names a RuntimeClass that does not exist (deleted after the pod was admitted)."""


def runtime_handler(pod: Pod, classes: Mapping[str, Any]) -> str | None:
    """The handler of the pod's RuntimeClass (None: the Engine's default runtime)."""
    name = pod.spec.runtime_class_name if pod.spec else None
    if not name:
        return None
    found = classes.get(name)
    if not isinstance(found, dict):
        raise RuntimeClassNotFound(f'runtimeclass.node.k8s.io "{name}" not found')
    return str(found.get("handler") or "") or None
