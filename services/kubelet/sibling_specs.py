"""SiblingSpecs: validate the pods of one workload once per spec, not once per pod.

A workload's pods carry the same spec but for `spec.nodeName`. The hollow fleet loads
every pod of its nodes at start (150,000 on 5,000 nodes), and validating each spec was
most of that rebuild. Here a spec is validated the first time it is seen; a later pod
whose spec, `nodeName` aside, is the same JSON takes a copy of the validated spec with its
own node, and only its metadata and status are validated.

"The same JSON" is compared on `orjson` bytes, not on decoded dicts: Python's `1 == 1.0 ==
True` would let a spec that strict validation refuses pass as a copy of a valid one.
Siblings share the spec's lists and dicts: like every model here they are read, never
changed in place.
"""

from __future__ import annotations

from typing import Any

import orjson

from schemas.pod import Pod, PodSpec

SHAPES_LIMIT = 4096  # distinct specs remembered; past it, the memory starts afresh


class SiblingSpecs:
    def __init__(self) -> None:
        self._validated: dict[bytes, PodSpec] = {}

    def validate(self, data: dict[str, Any]) -> Pod:
        """`Pod.model_validate(data)`, sharing the spec of an earlier pod that differed
        only in `nodeName`. Raises what `Pod.model_validate` raises."""
        spec = data.get("spec")
        if not isinstance(spec, dict) or type(node := spec.get("nodeName")) is not str:
            return Pod.model_validate(data)  # unbound (or malformed): no siblings to share with
        shape = orjson.dumps({k: v for k, v in spec.items() if k != "nodeName"})
        template = self._validated.get(shape)
        if template is not None:
            shared = template if template.node_name == node else template.model_copy(update={"node_name": node})
            return Pod.model_validate({**data, "spec": shared})
        pod = Pod.model_validate(data)
        if pod.spec is not None:
            if len(self._validated) >= SHAPES_LIMIT:
                self._validated.clear()
            self._validated[shape] = pod.spec
        return pod
