"""Which consumer of a view reads which topic: pods and nodes apart from the rest."""

from __future__ import annotations

from services.runtime.informer import fetch_groups
from services.runtime.topics import Topics

T = Topics("k.")


def test_busy_topics_get_their_own_consumer() -> None:
    topics = [T.desired("replicasets"), T.desired("pods"), T.observed("pods"), T.observed("nodes"),
              T.desired("deployments"), T.desired("nodes")]
    assert fetch_groups(topics) == [
        [T.desired("pods"), T.observed("pods"), T.observed("nodes"), T.desired("nodes")],
        [T.desired("replicasets"), T.desired("deployments")],
    ]


def test_only_quiet_or_only_busy_topics_are_one_consumer() -> None:
    assert fetch_groups([T.desired("configmaps"), T.desired("secrets")]) == [[T.desired("configmaps"),
                                                                               T.desired("secrets")]]
    assert fetch_groups([T.desired("pods")]) == [[T.desired("pods")]]
    assert fetch_groups(["desired.pods", "desired.podtemplates"]) == [["desired.pods"], ["desired.podtemplates"]]


def test_a_view_of_no_topic_still_has_its_consumer() -> None:
    assert fetch_groups([]) == [[]]
