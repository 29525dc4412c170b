"""The Deployment controller: pure rollout logic (`reconcile.reconcile`) that
plans ReplicaSet creations, scalings and deletions, and its executor
(`controller`). See ../README.md."""
