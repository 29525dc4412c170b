"""What `kubectl get` shows of each kind, as pure functions both the CLI's printers
(`services.cli.printers`) and the HTTP API's server-side `Table`s (`services.apiserver.tables`)
use: one object as a user sees it (desired metadata and spec, observed status), kubectl's
short ages, and the columns of each kind (`COLUMNS`: the names and a function of the
object, normal and `-o wide`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from schemas.networking import DEFAULT_CLASS_ANNOTATION
from schemas.storage import DEFAULT_CLASS_ANNOTATION as DEFAULT_STORAGE_CLASS_ANNOTATION

Row = list[str]
Obj = dict[str, Any]


def merged(desired: Obj, observed: Obj | None) -> Obj:
    """One object as a user sees it: desired metadata and spec, observed status
    (for Endpoints, which have no status, the observed `subsets`)."""
    if observed and observed.get("status") is not None:
        if desired.get("kind") == "Endpoints" and "subsets" in observed["status"]:
            return {**desired, "subsets": observed["status"]["subsets"]}
        return {**desired, "status": observed["status"]}
    return desired


def from_observed(observed: Obj) -> Obj | None:
    """An object that only exists observed (Endpoints written by the endpoints
    controller: no desired object), in its Kubernetes shape; None for other kinds."""
    if observed.get("kind") != "Endpoints":
        return None
    meta = {k: v for k, v in (observed.get("metadata") or {}).items() if k in ("name", "namespace", "uid")}
    meta["creationTimestamp"] = observed.get("observedAt")
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta,
            "subsets": (observed.get("status") or {}).get("subsets") or []}


def objects(desired: dict[str, Obj], observed: dict[str, Obj]) -> dict[str, Obj]:
    """Every object of one kind as `get` shows it, by key: desired merged with observed,
    plus the observed-only ones (`from_observed`)."""
    shown = {k: merged(v, observed.get(k)) for k, v in desired.items()}
    for key, value in observed.items():
        if key not in shown and (obj := from_observed(value)) is not None:
            shown[key] = obj
    return shown


def age(timestamp: str | None, now: datetime) -> str:
    """kubectl's short human duration: 45s, 2m30s, 3h, 5d."""
    if not timestamp:
        return "<unknown>"
    then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    s = max(0, int((now - then).total_seconds()))
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if h < 3:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    return f"{d}d" if d < 730 else f"{d // 365}y{d % 365}d"


# -- columns per kind -------------------------------------------------------------------
def _status(o: Obj) -> Obj:
    return o.get("status") or {}


def _spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def _pod_columns(o: Obj) -> Row:
    statuses = _status(o).get("containerStatuses") or []
    total = len(_spec(o).get("containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    return [f"{ready}/{total}", pod_phase(o), str(restarts)]


def pod_phase(o: Obj) -> str:
    """The STATUS column: a waiting/terminated reason if any, else the phase."""
    if o["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for c in _status(o).get("containerStatuses") or []:
        state = c.get("state") or {}
        for key in ("waiting", "terminated"):
            reason = (state.get(key) or {}).get("reason")
            if reason:
                return str(reason)
    return str(_status(o).get("phase") or "Pending")


def _pod_wide(o: Obj) -> Row:
    return [_status(o).get("podIP") or "<none>", _spec(o).get("nodeName") or "<none>",
            "<none>", "<none>"]


def _deploy_columns(o: Obj) -> Row:
    st = _status(o)
    return [f"{st.get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}",
            str(st.get("updatedReplicas", 0)), str(st.get("availableReplicas", 0))]


def _rs_columns(o: Obj) -> Row:
    st = _status(o)
    return [str(_spec(o).get("replicas", 1)), str(st.get("replicas", 0)),
            str(st.get("readyReplicas", 0))]


def _daemonset_columns(o: Obj) -> Row:
    """kubectl's DESIRED, CURRENT, READY, UP-TO-DATE, AVAILABLE, NODE SELECTOR (printDaemonSet)."""
    st = _status(o)
    node_selector = ((_spec(o).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    counts = ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
              "numberAvailable")
    shown = ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>"
    return [*(str(st.get(key, 0)) for key in counts), shown]


def _revision_columns(o: Obj) -> Row:
    """kubectl's CONTROLLER (`daemonset.apps/web`), REVISION of a ControllerRevision."""
    refs = [r for r in (o.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")]
    owner = "<none>"
    if refs:
        group = str(refs[0].get("apiVersion", "")).rpartition("/")[0]
        owner = f"{refs[0].get('kind', '')}{'.' + group if group else ''}".lower() + f"/{refs[0].get('name', '')}"
    return [owner, str(o.get("revision", 0))]


def _svc_columns(o: Obj) -> Row:
    spec = _spec(o)
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/"
        f"{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    kind = spec.get("type", "ClusterIP")
    return [kind, spec.get("clusterIP") or "<none>", _external_ip(o, kind), ports or "<none>"]


def _external_ip(o: Obj, kind: str) -> str:
    """kubectl's EXTERNAL-IP: externalName, or externalIPs + load-balancer ingress."""
    spec = _spec(o)
    if kind == "ExternalName":
        return str(spec.get("externalName") or "<none>")
    ingress = ((_status(o).get("loadBalancer") or {}).get("ingress")) or []
    ips = list(spec.get("externalIPs") or []) + [i.get("ip") or i.get("hostname") or "" for i in ingress]
    if ips:
        return ",".join(ips)
    return "<pending>" if kind == "LoadBalancer" else "<none>"


def _endpoints_columns(o: Obj) -> Row:
    """kubectl's ENDPOINTS: ip:port per ready address and port (ports outer), the
    first three, then "+ N more..."; bare IPs for a subset without ports."""
    subsets = o.get("subsets") if "subsets" in o else _status(o).get("subsets")
    pairs = []
    for s in subsets or []:
        addresses = [a.get("ip") for a in s.get("addresses") or []]
        if not s.get("ports"):
            pairs += addresses
        for p in s.get("ports") or []:
            pairs += [f"{ip}:{p.get('port')}" for ip in addresses]
    shown = ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")
    return [shown or "<none>"]


def _node_columns(o: Obj) -> Row:
    conditions = {c.get("type"): c.get("status") for c in _status(o).get("conditions") or []}
    ready = {"True": "Ready", "False": "NotReady"}.get(conditions.get("Ready", ""), "Unknown")
    if _spec(o).get("unschedulable"):
        ready += ",SchedulingDisabled"
    roles = [k.split("/", 1)[1] for k in (o["metadata"].get("labels") or {})
             if k.startswith("node-role.kubernetes.io/")]
    version = (_status(o).get("nodeInfo") or {}).get("kubeletVersion", "")
    return [ready, ",".join(roles) or "<none>", version]


def _event_object(o: Obj) -> str:
    inv = o.get("involvedObject") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def _role_ref(o: Obj) -> Row:
    ref = o.get("roleRef") or {}
    return [f"{ref.get('kind', '')}/{ref.get('name', '')}"]


def _binding_subjects(o: Obj) -> Row:
    """kubectl's wide USERS, GROUPS, SERVICEACCOUNTS (service accounts as namespace:name)."""
    subjects = o.get("subjects") or []
    users = [s.get("name", "") for s in subjects if s.get("kind") == "User"]
    groups = [s.get("name", "") for s in subjects if s.get("kind") == "Group"]
    accounts = [f"{s.get('namespace', '')}:{s.get('name', '')}" for s in subjects
                if s.get("kind") == "ServiceAccount"]
    return [", ".join(users), ", ".join(groups), ", ".join(accounts)]


def selector_text(selector: Any) -> str:
    """A LabelSelector (or an RC's or Service's plain map) as the string form `a=b,c in (d)`."""
    if not isinstance(selector, dict):
        return ""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return ",".join(f"{k}={v}" for k, v in selector.items())
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), ",".join(expr.get("values") or [])
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": str(key), "DoesNotExist": f"!{key}"}.get(str(op), ""))
    return ",".join(p for p in parts if p)


def _workload_wide(o: Obj) -> Row:
    """kubectl's wide CONTAINERS, IMAGES, SELECTOR of a Deployment, ReplicaSet or RC."""
    containers = ((_spec(o).get("template") or {}).get("spec") or {}).get("containers") or []
    return [",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers),
            selector_text(_spec(o).get("selector")) or "<none>"]


def _ingress_hosts(rules: list[Obj]) -> str:
    """kubectl's formatHosts: the hosts of the first rules, at most three, then "+ N more..."
    (N counts the rules past the third); "*" when none has a host."""
    hosts: list[str] = []
    more = False
    for rule in rules:
        more = more or len(hosts) == 3
        if not more and rule.get("host"):
            hosts.append(str(rule["host"]))
    if not hosts:
        return "*"
    return ",".join(hosts) + (f" + {len(rules) - 3} more..." if more else "")


def _ingress_columns(o: Obj) -> Row:
    """kubectl's CLASS, HOSTS, ADDRESS (the load balancer's IPs or hostnames, sorted, cut at
    16 characters), PORTS."""
    spec = _spec(o)
    ingress = ((_status(o).get("loadBalancer") or {}).get("ingress")) or []
    address = ",".join(sorted({str(i.get("ip") or i.get("hostname")) for i in ingress
                               if i.get("ip") or i.get("hostname")}))
    address = address if len(address) <= 16 else address[:13] + "..."
    return [spec.get("ingressClassName") or "<none>", _ingress_hosts(spec.get("rules") or []), address,
            "80, 443" if spec.get("tls") else "80"]


def _ingress_class_columns(o: Obj) -> Row:
    """kubectl's CONTROLLER, PARAMETERS (`Kind.apiGroup/name`)."""
    spec = _spec(o)
    params = spec.get("parameters")
    shown = "<none>"
    if params:
        group = f".{params['apiGroup']}" if params.get("apiGroup") else ""
        shown = f"{params.get('kind', '')}{group}/{params.get('name', '')}"
    return [spec.get("controller") or "", shown]


def _hpa_columns(o: Obj) -> Row:
    """kubectl's REFERENCE, TARGETS, MINPODS, MAXPODS, REPLICAS of a HorizontalPodAutoscaler."""
    spec, st = _spec(o), _status(o)
    ref = spec.get("scaleTargetRef") or {}
    min_pods = spec.get("minReplicas")
    return [f"{ref.get('kind', '')}/{ref.get('name', '')}", _hpa_targets(spec.get("metrics") or [],
            st.get("currentMetrics") or []), "<unset>" if min_pods is None else str(min_pods),
            str(spec.get("maxReplicas", 0)), str(st.get("currentReplicas", 0))]


def _hpa_targets(specs: list[Obj], current: list[Obj], shown: int = 3) -> str:
    """kubectl's formatHPAMetrics for Resource metrics: `cpu: 45%/80%`, `memory: <unknown>/64Mi`."""
    if not specs:
        return "<none>"
    parts = []
    for i, metric in enumerate(specs[:shown]):
        source = metric.get("resource") or {}
        target = source.get("target") or {}
        now = ((current[i].get("resource") or {}).get("current") or {}) if i < len(current) else {}
        if target.get("averageUtilization") is not None:
            got = now.get("averageUtilization")
            value = f"{'<unknown>' if got is None else f'{got}%'}/{target['averageUtilization']}%"
        else:
            value = f"{now.get('averageValue') or '<unknown>'}/{target.get('averageValue') or target.get('value')}"
        parts.append(f"{source.get('name', '')}: {value}")
    more = f" + {len(specs) - shown} more..." if len(specs) > shown else ""
    return ", ".join(parts) + more


def _job_columns(o: Obj) -> Row:
    """kubectl's STATUS, COMPLETIONS, DURATION of a Job (printJob)."""
    spec, st = _spec(o), _status(o)
    succeeded, parallelism = st.get("succeeded", 0), spec.get("parallelism") or 0
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    else:
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    start, end = st.get("startTime"), st.get("completionTime")
    duration = "" if not start else age(start, datetime.fromisoformat(end.replace("Z", "+00:00")) if end
                                        else datetime.now(timezone.utc))
    true = {c.get("type") for c in st.get("conditions") or [] if c.get("status") == "True"}
    status = next((shown for shown, test in (("Complete", "Complete" in true), ("Failed", "Failed" in true),
                                             ("Terminating", bool(o["metadata"].get("deletionTimestamp"))),
                                             ("Suspended", "Suspended" in true),
                                             ("FailureTarget", "FailureTarget" in true),
                                             ("SuccessCriteriaMet", "SuccessCriteriaMet" in true)) if test), "Running")
    return [status, completions, duration]


def _cronjob_columns(o: Obj) -> Row:
    """kubectl's SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE of a CronJob (printCronJob)."""
    spec, st = _spec(o), _status(o)
    suspend = spec.get("suspend")
    last = st.get("lastScheduleTime")
    return [spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else str(bool(suspend)), str(len(st.get("active") or [])),
            age(last, datetime.now(timezone.utc)) if last else "<none>"]


def _cronjob_wide(o: Obj) -> Row:
    template = ((_spec(o).get("jobTemplate") or {}).get("spec") or {})
    return _workload_wide({"spec": template})


Columns = tuple[list[str], Callable[[Obj], Row], list[str], Callable[[Obj], Row] | None]
_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


def access_modes_text(modes: list[str] | None) -> str:
    """kubectl's GetAccessModesAsString: `RWO,ROX,RWX,RWOP`, in that order."""
    return ",".join(short for mode, short in _ACCESS_MODES if mode in (modes or []))


def _storage_phase(o: Obj) -> str:
    return "Terminating" if (o.get("metadata") or {}).get("deletionTimestamp") else str(_status(o).get("phase", ""))


def _pv_columns(o: Obj) -> Row:
    """kubectl's CAPACITY, ACCESS MODES, RECLAIM POLICY, STATUS, CLAIM, STORAGECLASS,
    VOLUMEATTRIBUTESCLASS, REASON (printPersistentVolume)."""
    spec, ref = _spec(o), _spec(o).get("claimRef") or {}
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    return [str((spec.get("capacity") or {}).get("storage", "")), access_modes_text(spec.get("accessModes")),
            str(spec.get("persistentVolumeReclaimPolicy", "")), _storage_phase(o), claim,
            str(spec.get("storageClassName") or ""), str(spec.get("volumeAttributesClassName") or "<unset>"),
            str(_status(o).get("reason", ""))]


def _pvc_columns(o: Obj) -> Row:
    """kubectl's STATUS, VOLUME, CAPACITY and ACCESS MODES (of a claim naming its volume),
    STORAGECLASS, VOLUMEATTRIBUTESCLASS (printPersistentVolumeClaim)."""
    spec, status = _spec(o), _status(o)
    bound = bool(spec.get("volumeName"))
    return [_storage_phase(o), str(spec.get("volumeName") or ""),
            str((status.get("capacity") or {}).get("storage", "")) if bound else "",
            access_modes_text(status.get("accessModes")) if bound else "", str(spec.get("storageClassName") or ""),
            str(spec.get("volumeAttributesClassName") or "<unset>")]


def _storage_class_columns(o: Obj) -> Row:
    """kubectl's PROVISIONER, RECLAIMPOLICY, VOLUMEBINDINGMODE, ALLOWVOLUMEEXPANSION."""
    return [str(o.get("provisioner", "")), str(o.get("reclaimPolicy") or "Delete"),
            str(o.get("volumeBindingMode") or "Immediate"), "true" if o.get("allowVolumeExpansion") else "false"]


COLUMNS: dict[str, Columns] = {
    "pods": (["READY", "STATUS", "RESTARTS"], _pod_columns,
             ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"], _pod_wide),
    "deployments": (["READY", "UP-TO-DATE", "AVAILABLE"], _deploy_columns, ["CONTAINERS", "IMAGES", "SELECTOR"], _workload_wide),
    "replicasets": (["DESIRED", "CURRENT", "READY"], _rs_columns, ["CONTAINERS", "IMAGES", "SELECTOR"], _workload_wide),
    "daemonsets": (["DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR"], _daemonset_columns,
                   ["CONTAINERS", "IMAGES", "SELECTOR"], _workload_wide),
    "statefulsets": (["READY"], lambda o: [f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"],
                     ["CONTAINERS", "IMAGES"], lambda o: _workload_wide(o)[:2]),
    "controllerrevisions": (["CONTROLLER", "REVISION"], _revision_columns, [], None),
    "replicationcontrollers": (["DESIRED", "CURRENT", "READY"], _rs_columns, ["CONTAINERS", "IMAGES", "SELECTOR"], _workload_wide),
    "services": (["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"], _svc_columns, ["SELECTOR"],
                 lambda o: [selector_text(_spec(o).get("selector")) or "<none>"]),
    "endpoints": (["ENDPOINTS"], _endpoints_columns, [], None),
    "configmaps": (["DATA"], lambda o: [str(len(o.get("data") or {}) + len(o.get("binaryData") or {}))], [], None),
    "secrets": (["TYPE", "DATA"], lambda o: [o.get("type", "Opaque"), str(len(o.get("data") or {}))], [], None),
    "namespaces": (["STATUS"], lambda o: ["Terminating" if o["metadata"].get("deletionTimestamp") else "Active"], [], None),
    "nodes": (["STATUS", "ROLES"], lambda o: _node_columns(o)[:2], ["VERSION"], lambda o: _node_columns(o)[2:]),
    "events": (["TYPE", "REASON", "OBJECT", "MESSAGE"],
               lambda o: [o.get("type", ""), o.get("reason", ""), _event_object(o), o.get("message", "")], [], None),
    "serviceaccounts": (["SECRETS"], lambda o: [str(len(o.get("secrets") or []))], [], None),
    "rolebindings": (["ROLE"], _role_ref, ["USERS", "GROUPS", "SERVICEACCOUNTS"], _binding_subjects),
    "clusterrolebindings": (["ROLE"], _role_ref, ["USERS", "GROUPS", "SERVICEACCOUNTS"], _binding_subjects),
    "horizontalpodautoscalers": (["REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS"], _hpa_columns, [], None),
    "jobs": (["STATUS", "COMPLETIONS", "DURATION"], _job_columns, ["CONTAINERS", "IMAGES", "SELECTOR"], _workload_wide),
    "cronjobs": (["SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE"], _cronjob_columns,
                 ["CONTAINERS", "IMAGES", "SELECTOR"], _cronjob_wide),
    "ingresses": (["CLASS", "HOSTS", "ADDRESS", "PORTS"], _ingress_columns, [], None),
    "ingressclasses": (["CONTROLLER", "PARAMETERS"], _ingress_class_columns, [], None),
    "persistentvolumes": (["CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
                           "VOLUMEATTRIBUTESCLASS", "REASON"], _pv_columns, ["VOLUMEMODE"],
                          lambda o: [str(_spec(o).get("volumeMode") or "<unset>")]),
    "persistentvolumeclaims": (["STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS"],
                               _pvc_columns, ["VOLUMEMODE"], lambda o: [str(_spec(o).get("volumeMode") or "<unset>")]),
    "storageclasses": (["PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION"],
                       _storage_class_columns, [], None),
    "runtimeclasses": (["HANDLER"], lambda o: [str(o.get("handler", ""))], [], None),
}
"""Kinds not listed (roles, clusterroles) print NAME and AGE only."""

DEFAULT_CLASS_ANNOTATIONS = {"ingressclasses": DEFAULT_CLASS_ANNOTATION, "storageclasses": DEFAULT_STORAGE_CLASS_ANNOTATION}
"""Kinds whose default object kubectl names `<name> (default)` in the NAME column."""


def display_name(plural: str, obj: Obj) -> str:
    """The NAME cell: the object's name, with ` (default)` for a default class, as kubectl's."""
    meta = obj.get("metadata") or {}
    annotation = DEFAULT_CLASS_ANNOTATIONS.get(plural)
    is_default = annotation is not None and (meta.get("annotations") or {}).get(annotation) == "true"
    return str(meta.get("name", "")) + (" (default)" if is_default else "")
