"""The horizontal pod autoscaler controller (autoscaling/v2); see README.md."""
