"""The horizontal pod autoscaler controller (autoscaling/v2); see the "Horizontal pod
autoscaler" section of services/controllers/README.md."""
