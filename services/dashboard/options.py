"""`KAFKUBE_DASHBOARD_ADDRESS` (`host:port`, default `127.0.0.1:8080`): where the dashboard
listens. Read by `services.dashboard.service` before anything starts."""

from __future__ import annotations

import os
from collections.abc import Mapping

from services.runtime.address import BadAddress, parse_address

ENV = "KAFKUBE_DASHBOARD_ADDRESS"
DEFAULT = "127.0.0.1:8080"


def dashboard_address(env: Mapping[str, str] = os.environ) -> tuple[str, int]:
    """(host, port), or BadAddress naming the variable."""
    address = env.get(ENV) or DEFAULT
    try:
        return parse_address(address)
    except BadAddress:
        raise BadAddress(f"{ENV}={address!r}: expected host:port, e.g. {DEFAULT}") from None
