"""The kubelet: one per node; runs the pods bound to it through a container runtime."""
