"""The node's own address, as the kubelet reports it and the proxy binds NodePorts on it:
`KAFKUBE_NODE_IP` when set, else the source address of the default route (found by
connecting a UDP socket: no packet is sent), else loopback."""

from __future__ import annotations

import os
import socket


def node_address() -> str:
    if os.environ.get("KAFKUBE_NODE_IP"):
        return os.environ["KAFKUBE_NODE_IP"]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 1))
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"
