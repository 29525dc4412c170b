"""The controller machinery every controller of the controller manager runs on (see
services/controllers/README.md): the shared informer, the caches and owner indexes,
expectations, the hosts (queue, partition ownership, takeover, resync) and the write helpers."""
