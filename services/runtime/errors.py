"""The runtime's one error hierarchy: each class says whether a retry can help."""

from __future__ import annotations


class KafkubeError(Exception):
    """Root of every error the runtime raises on purpose."""

    retriable: bool = False


class KafkaUnavailable(KafkubeError):
    """No broker answered within the connect timeout."""

    retriable = True


class TopicMissing(KafkubeError, LookupError):
    """A topic Kafkube reads does not exist (yet): the cluster was not set up with this
    topic prefix, or `kafkube serve api` has not created its topics."""


class TopicMisconfigured(KafkubeError):
    """A topic exists with a cleanup policy or partition count Kafkube cannot use."""
