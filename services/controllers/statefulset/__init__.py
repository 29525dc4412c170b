"""The StatefulSet controller (apps/v1): stable pod identity, claims, ordered rollout."""
