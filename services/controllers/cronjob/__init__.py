"""The CronJob controller (batch/v1): pure `reconcile` of one CronJob and its Jobs, and its executor."""
