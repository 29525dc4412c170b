"""The proxy (kube-proxy's role, userspace mode) and the cluster DNS server of one node."""
