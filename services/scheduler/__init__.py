"""The scheduler: binds unbound pods to nodes (see README.md)."""
