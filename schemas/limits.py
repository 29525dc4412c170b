"""The size bounds of what Kafkube accepts, in one place, with Kubernetes' wording.

Used by ``schemas.documents`` (parsing manifests), the API intake and writer (requests
and stored objects) and the CLI. Kubernetes refuses a request body over 3 MiB; Kafkube's
topics accept records up to 4 MiB (``services.runtime.bus``), which leaves room for a
request's envelope and headers around an object of the largest allowed size.
"""

from __future__ import annotations

MAX_REQUEST_BYTES = 3 * 1024 * 1024
"""A manifest record's payload, a request's object, a stored object (kube-apiserver's limit)."""
MAX_DOCUMENTS = 1000
"""Documents (and ``List`` items) in one manifest record: each becomes a request."""
MAX_DEPTH = 100
MAX_NODES = 1_000_000
"""Values (scalars, maps, lists) a manifest record may expand into, aliases counted each time."""
MAX_OUTPUT_BYTES = 2 * MAX_REQUEST_BYTES
"""Characters of strings a manifest record may expand into: YAML aliases cannot make a
small record into a huge one, and every plain record of the allowed size fits."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def entity_too_large(limit: int = MAX_REQUEST_BYTES) -> str:
    """kube-apiserver's answer to a body over its limit (HTTP 413)."""
    return f"Request entity too large: limit is {limit}"
