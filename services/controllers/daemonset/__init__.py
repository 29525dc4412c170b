"""The DaemonSet controller (apps/v1): one pod per eligible node."""
