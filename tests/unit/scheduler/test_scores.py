from services.scheduler import scores as s
from services.scheduler.snapshot import NodeUsage
from tests.unit.scheduler.builders import node, req


def usage(*pods) -> NodeUsage:  # type: ignore[no-untyped-def]
    u = NodeUsage()
    for p in pods:
        u.add(p)
    return u


def test_least_allocated_prefers_the_emptier_node() -> None:
    pod = req(cpu="500m", memory="1Gi")
    nodes = [(node("a"), usage(req("x", cpu="1", memory="2Gi"))), (node("b"), usage())]
    assert s.least_allocated(pod, nodes) == [25, 75]  # free share after placing the pod


def test_balanced_allocation_prefers_equal_shares() -> None:
    pod = req(cpu="1", memory="1Gi")
    nodes = [(node("a", cpu="2", memory="2Gi"), usage()), (node("b", cpu="2", memory="8Gi"), usage())]
    balanced, skewed = s.balanced_allocation(pod, nodes)
    assert balanced == 100 and skewed < balanced


def test_owner_spread_prefers_nodes_with_fewer_siblings() -> None:
    pod = req("new", owner="rs")
    nodes = [(node("a"), usage(req("x", owner="rs"), req("y", owner="rs"))),
             (node("b"), usage(req("z", owner="rs"))), (node("c"), usage(req("w", owner="other")))]
    assert s.owner_spread(pod, nodes) == [0, 50, 100]
    assert s.owner_spread(req(), nodes) == [100, 100, 100]


def test_preferred_affinity_weights() -> None:
    pod = req(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In",
                                                            "values": ["a"]}]}},
        {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}]}})
    nodes = [(node("a", labels={"zone": "a"}), usage()), (node("b", labels={"disk": "ssd"}), usage()),
             (node("c", labels={"zone": "a", "disk": "x"}), usage()), (node("d"), usage())]
    assert s.preferred_node_affinity(pod, nodes) == [25, 75, 100, 0]


def test_prefer_no_schedule_taints_lower_the_score() -> None:
    soft = node("a", taints=[{"key": "k", "effect": "PreferNoSchedule"}])
    assert s.prefer_no_schedule(req(), [(soft, usage()), (node("b"), usage())]) == [0, 100]
