"""The Job controller (batch/v1): pure `reconcile` of one Job and its pods, and its executor."""
