"""The ReplicaSet and ReplicationController controller: one pure reconcile
(`reconcile.reconcile`) over a normalised `Workload`, a thin executor
(`controller`). See ../README.md."""
