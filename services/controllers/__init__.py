"""The controller manager (`kafkube serve controllers`): workload controllers
(ReplicaSet, ReplicationController, Deployment) and, beside them, the cluster
controllers. Wiring is in `services.controllers.service`; see README.md."""
