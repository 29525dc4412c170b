"""Kubernetes RBAC for the API: the one import the API's writer needs.

Pure decisions, no I/O (the policy's records arrive through `services.api.rbac_view`):

- `Policy.authorize(user, attrs) -> Decision`: may `user` do `attrs`? (`rbac_policy`)
- `request_attributes(op, info, ...)`: a write request in RBAC's verbs (`rbac_policy`)
- `forbidden_message(user, attrs, reason=...)`: the API server's Forbidden wording
- `escalation_problem(user, policy, obj, namespace, old=...)`: granting more than one holds
  (`rbac_escalation`)
- `node_restriction(user, attrs, current, new)`: kubelets (`rbac_node`)
- `bootstrap_policy()`: the default ClusterRoles and ClusterRoleBindings (`rbac_bootstrap`)

The flow in the writer: authenticate → `request_attributes` → `authorize` (deny:
`forbidden_message`) → for RBAC kinds `escalation_problem` → for nodes `node_restriction`
→ admission → store.
"""

from __future__ import annotations

from services.api.rbac_bootstrap import bootstrap_policy
from services.api.rbac_escalation import escalation_problem
from services.api.rbac_node import node_restriction
from services.api.rbac_policy import (
    RBAC_KINDS,
    Attributes,
    Decision,
    Policy,
    Rule,
    forbidden,
    forbidden_message,
    request_attributes,
    service_account_user,
)

__all__ = [
    "RBAC_KINDS", "Attributes", "Decision", "Policy", "Rule", "bootstrap_policy",
    "escalation_problem", "forbidden", "forbidden_message", "node_restriction",
    "request_attributes", "service_account_user",
]
