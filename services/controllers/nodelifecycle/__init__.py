"""The node lifecycle controller: unreachable nodes get Ready=Unknown and the
`node.kubernetes.io/unreachable` taints, their pods are evicted after their
toleration. Pure decisions in `reconcile`, wiring in `service`. See README.md."""
