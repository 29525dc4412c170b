"""RuntimeClass admission, as kube-apiserver's RuntimeClass plugin does it when a Pod is
created: a pod naming an unknown class is refused; the class's `overhead.podFixed` becomes
the pod's `spec.overhead` (a pod that sets another overhead, or one without a class that
defines it, is refused); the class's `scheduling.nodeSelector` is merged into the pod's
(a conflicting value is refused) and its tolerations are added (a toleration another one
covers is dropped, as upstream's MergeTolerations).

Pure: the stored Pod JSON and the RuntimeClass it names (looked up by the writer, None when
absent) in, the Pod to store out, or an AdmissionError("Forbidden", upstream's message).
Called by `services.api.decide` for a Pod being created.
"""

from __future__ import annotations

from typing import Any

from schemas.quantity import parse_quantity
from services.api.admission import AdmissionError

Doc = dict[str, Any]


def admit_runtime_class(pod: Doc, runtime_class: Doc | None) -> Doc:
    """The pod with its class's overhead and scheduling applied. `runtime_class` is the
    RuntimeClass named by `spec.runtimeClassName` (None: there is no such class)."""
    spec = pod.get("spec") or {}
    name = spec.get("runtimeClassName")
    if name and (runtime_class is None or (runtime_class.get("metadata") or {}).get("name") != name):
        raise _forbidden(pod, f'pod rejected: RuntimeClass "{name}" not found')
    if not name:
        runtime_class = None
    spec = _with_overhead(pod, spec, runtime_class)
    spec = _with_scheduling(pod, spec, (runtime_class or {}).get("scheduling"))
    return {**pod, "spec": spec}


def _with_overhead(pod: Doc, spec: Doc, runtime_class: Doc | None) -> Doc:
    fixed = ((runtime_class or {}).get("overhead") or {}).get("podFixed")
    given = spec.get("overhead")
    if fixed is None:
        if given is not None:
            raise _forbidden(pod, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
        return spec
    if given and not _same_quantities(given, fixed):
        raise _forbidden(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
    return {**spec, "overhead": dict(fixed)}


def _same_quantities(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Semantic equality of two resource lists (`1` and `1000m` are the same CPU)."""
    return a.keys() == b.keys() and all(parse_quantity(a[k]) == parse_quantity(b[k]) for k in a)


def _with_scheduling(pod: Doc, spec: Doc, scheduling: Doc | None) -> Doc:
    if scheduling is None:  # upstream merges only for a class that has a scheduling
        return spec
    selector = scheduling.get("nodeSelector") or {}
    tolerations = scheduling.get("tolerations") or []
    merged = dict(spec.get("nodeSelector") or {})
    for key, value in selector.items():
        if key in merged and merged[key] != value:
            raise _forbidden(pod, f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = {value}; "
                                  f"pod.spec.nodeSelector[{key}] = {merged[key]}")
        merged[key] = value
    spec = {**spec, "nodeSelector": merged} if merged else spec
    together = merge_tolerations(list(spec.get("tolerations") or []), list(tolerations))
    return {**spec, "tolerations": together} if together else spec


def merge_tolerations(first: list[Doc], second: list[Doc]) -> list[Doc]:
    """Upstream's MergeTolerations: both lists, without a toleration another one covers
    (of equal ones, the first is kept)."""
    every = first + second
    merged: list[Doc] = []
    for i, t in enumerate(every):
        if any(_is_superset(kept, t) for kept in merged):
            continue
        if any(other != t and _is_superset(other, t) for other in every[i + 1:]):
            continue
        merged.append(t)
    return merged


def _is_superset(ss: Doc, t: Doc) -> bool:
    """Whether `ss` tolerates every taint `t` does (upstream's isSuperset)."""
    if ss == t:
        return True
    if t.get("key", "") != ss.get("key", "") and (ss.get("key") or ss.get("operator") != "Exists"):
        return False
    if t.get("effect", "") != ss.get("effect", "") and ss.get("effect"):
        return False
    if ss.get("effect") == "NoExecute" and ss.get("tolerationSeconds") is not None:
        seconds = t.get("tolerationSeconds")
        if seconds is None or seconds > ss["tolerationSeconds"]:
            return False
    if ss.get("operator", "Equal") in ("Equal", ""):
        return t.get("operator") == "Equal" and t.get("value", "") == ss.get("value", "")
    return ss.get("operator") == "Exists"


def _forbidden(pod: Doc, problem: str) -> AdmissionError:
    name = (pod.get("metadata") or {}).get("name", "")
    return AdmissionError("Forbidden", f'pods "{name}" is forbidden: {problem}')
