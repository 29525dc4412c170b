"""The kubelet's streaming endpoint: exec, attach and port-forward for the apiserver."""
