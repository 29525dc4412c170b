"""The API service: the only writer of desired state (DESIGN.md §3.1)."""
