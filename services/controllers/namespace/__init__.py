"""The namespace controller: a deleted namespace's contents are deleted, then its
`kubernetes` finalizer is removed. Pure decisions in `reconcile`, wiring in
`service`. See README.md."""
