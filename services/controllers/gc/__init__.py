"""The garbage collector (ownerReferences cascade: Background, Foreground, Orphan):
pure decisions in `reconcile`, wiring in `service`; `host` and `writes` are shared
with the node lifecycle and namespace controllers. See README.md."""
