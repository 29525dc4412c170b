"""RBAC's decision, as Kubernetes' RBAC authorizer takes it: may this user do this?

Pure: no I/O. `Policy` indexes the stored Roles, ClusterRoles, RoleBindings and
ClusterRoleBindings (their JSON, as on `kafkube.desired.<plural>`), kept current record by
record with `Policy.apply` (by `services.api.rbac_view`). `Policy.authorize` follows
plugin/pkg/auth/authorizer/rbac: ClusterRoleBindings grant everywhere, RoleBindings in
their namespace; subjects match a User by name, a Group by membership, a ServiceAccount as
the user `system:serviceaccount:<ns>:<name>`; the first rule that allows the request wins.
An aggregated ClusterRole holds the union of the rules of the ClusterRoles its selectors
match, as upstream's aggregation controller would store them (computed here, and again
when any ClusterRole changes). Members of `system:masters` may do anything.
Decisions are memoised per (user, groups, attributes) until the next `apply`; a
request's object name is part of the key only where some rule names resources
(`resourceNames`) of its group and resource, the only place a rule reads it.

Also here: `forbidden_message` (the API server's wording) and `request_attributes` (which
verb a Kafkube write request is). The API's access control calls these through
`services.api.rbac`; the escalation check is `services.api.rbac_escalation`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from schemas.auth import AUTHENTICATED_GROUP, MASTERS_GROUP, SERVICE_ACCOUNT_PREFIX, UserInfo
from schemas.meta import LabelSelector
from schemas.rbac import GROUP_KIND, RBAC_GROUP, SERVICE_ACCOUNT_KIND, USER_KIND
from schemas.records import Op
from schemas.registry import KindInfo

ALL = "*"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
RBAC_KINDS = {"roles": "Role", "clusterroles": "ClusterRole", "rolebindings": "RoleBinding",
              "clusterrolebindings": "ClusterRoleBinding"}
"""The desired topics (plurals) the authorizer follows, and their kinds."""

Doc = Mapping[str, Any]
CACHED_DECISIONS = 4096  # (user, groups, attributes) decisions kept between policy changes


# -- request attributes --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Attributes:
    """Kubernetes' authorizer attributes of one request. `path` set: a non-resource request.
    A create names no object (`name=""`), as in Kubernetes, where it is a POST to a list."""

    verb: str
    api_group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str | None = None

    @property
    def combined_resource(self) -> str:
        """`pods/status` for a subresource, else `pods`."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


OP_VERBS = {Op.CREATE: "create", Op.ENSURE: "create", Op.UPDATE: "update", Op.PATCH: "patch",
            Op.DELETE: "delete", Op.BIND: "create"}
"""RBAC's verb of each write op; APPLY's depends on whether the object exists. The audit
records use it too (`services.api.audit`)."""


def request_attributes(op: Op, info: KindInfo, *, namespace: str | None, name: str,
                       exists: bool) -> Attributes:
    """What a write request asks, in RBAC's verbs: CREATE and ENSURE create; APPLY patches
    an object that exists and creates one that does not (kubectl apply); a BIND is a create
    of `pods/binding` (the scheduler's Binding); UPDATE, PATCH, DELETE as named."""
    verb = OP_VERBS.get(op) or ("patch" if exists else "create")
    subresource = "binding" if op is Op.BIND else ""
    named = name if verb != "create" or subresource else ""
    return Attributes(verb, info.group, info.plural, subresource, namespace or "", named)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


def service_account_user(namespace: str, name: str, *, uid: str = "") -> UserInfo:
    """The user a ServiceAccount's token authenticates as, with Kubernetes' groups."""
    return UserInfo(username=f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}", uid=uid,
                    groups=(SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}",
                            AUTHENTICATED_GROUP))


# -- rules ----------------------------------------------------------------------------------
def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def go_list(values: Iterable[str]) -> str:
    """Go's `%q` of a []string: `["a" "b"]`."""
    return "[" + " ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule. Its matching is rbac.go's RuleAllows; `covers` is the escalation
    check's ruleCovers (component-helpers/auth/rbac/validation)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, doc: object) -> Rule:
        d: Mapping[str, Any] = doc if isinstance(doc, Mapping) else {}
        return cls(_strings(d.get("verbs")), _strings(d.get("apiGroups")), _strings(d.get("resources")),
                   _strings(d.get("resourceNames")), _strings(d.get("nonResourceURLs")))

    def to_json(self) -> dict[str, list[str]]:
        out = {"verbs": self.verbs, "apiGroups": self.api_groups, "resources": self.resources,
               "resourceNames": self.resource_names, "nonResourceURLs": self.non_resource_urls}
        return {key: list(values) for key, values in out.items() if values}

    def allows(self, attrs: Attributes) -> bool:
        if not (ALL in self.verbs or attrs.verb in self.verbs):
            return False
        if attrs.path is not None:
            return any(_url_covers(url, attrs.path) for url in self.non_resource_urls)
        return ((ALL in self.api_groups or attrs.api_group in self.api_groups)
                and self._resource_matches(attrs.combined_resource, attrs.subresource)
                and (not self.resource_names or attrs.name in self.resource_names))

    def _resource_matches(self, combined: str, subresource: str) -> bool:
        for resource in self.resources:
            if resource in (ALL, combined):
                return True
            if subresource and resource == f"*/{subresource}":
                return True
        return False

    def breakdown(self) -> list[Rule]:
        """Equivalent rules of one verb, group, resource and name (or URL) each."""
        names: tuple[str | None, ...] = self.resource_names or (None,)
        out = [Rule((verb,), (group,), (resource,), () if name is None else (name,))
               for group in self.api_groups for resource in self.resources
               for verb in self.verbs for name in names]
        return out + [Rule((verb,), non_resource_urls=(url,))
                      for url in self.non_resource_urls for verb in self.verbs]

    def covers(self, sub: Rule) -> bool:
        """Does this rule allow everything `sub` (one of `breakdown`'s) allows?"""
        def has_all(owner: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
            return ALL in owner or set(wanted) <= set(owner)

        names = (not self.resource_names if not sub.resource_names
                 else not self.resource_names or set(sub.resource_names) <= set(self.resource_names))
        return (has_all(self.verbs, sub.verbs) and has_all(self.api_groups, sub.api_groups)
                and _resources_cover(self.resources, sub.resources) and names
                and all(any(_url_covers(own, url) for own in self.non_resource_urls)
                        for url in sub.non_resource_urls))

    def compact_string(self) -> str:
        """`{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`, as in upstream's messages."""
        parts = [(label, values) for label, values in (
            ("APIGroups", self.api_groups), ("Resources", self.resources),
            ("NonResourceURLs", self.non_resource_urls), ("ResourceNames", self.resource_names),
            ("Verbs", self.verbs)) if values]
        return "{" + ", ".join(f"{label}:{go_list(values)}" for label, values in parts) + "}"


def rules_of(doc: Doc) -> tuple[Rule, ...]:
    """The rules of a stored Role or ClusterRole."""
    rules = doc.get("rules")
    return tuple(Rule.of(r) for r in rules) if isinstance(rules, list) else ()


def _url_covers(owner: str, url: str) -> bool:
    return owner in (ALL, url) or (owner.endswith("*") and url.startswith(owner.rstrip("*")))


def _resources_cover(owner: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    if ALL in owner:
        return True
    for resource in wanted:
        if resource in owner:
            continue
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in owner:
            return False
    return True


# -- the index ------------------------------------------------------------------------------
SubjectKey = tuple[str, str]  # ("User", name) or ("Group", name)


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    def key(self, binding_namespace: str) -> SubjectKey | None:
        """The user or group this subject names; a ServiceAccount is a user name."""
        if self.kind in (USER_KIND, GROUP_KIND):
            return (self.kind, self.name)
        namespace = self.namespace or binding_namespace
        if self.kind == SERVICE_ACCOUNT_KIND and namespace:
            return (USER_KIND, f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{self.name}")
        return None

    def describe(self, binding_namespace: str) -> str:
        if self.kind == SERVICE_ACCOUNT_KIND:
            return f'{self.kind} "{self.name}/{self.namespace or binding_namespace}"'
        return f'{self.kind} "{self.name}"'


@dataclass(frozen=True, slots=True)
class Binding:
    kind: str  # RoleBinding or ClusterRoleBinding
    namespace: str  # "" for a ClusterRoleBinding
    name: str
    ref_kind: str
    ref_name: str
    subjects: tuple[Subject, ...]

    @classmethod
    def of(cls, kind: str, namespace: str, name: str, doc: Doc) -> Binding:
        ref = _mapping(doc.get("roleRef"))
        subjects = tuple(Subject(str(s.get("kind") or ""), str(s.get("name") or ""), str(s.get("namespace") or ""))
                         for s in doc.get("subjects") or [] if isinstance(s, Mapping))
        return cls(kind, namespace, name, str(ref.get("kind") or ""), str(ref.get("name") or ""), subjects)

    def keys(self) -> set[SubjectKey]:
        return {k for k in (s.key(self.namespace) for s in self.subjects) if k is not None}

    def describe(self, subject: Subject) -> str:
        """Upstream's source of a grant: `ClusterRoleBinding "x" of ClusterRole "y" to User "z"`."""
        name = f"{self.name}/{self.namespace}" if self.namespace else self.name
        return f'{self.kind} "{name}" of {self.ref_kind} "{self.ref_name}" to {subject.describe(self.namespace)}'


@dataclass(frozen=True, slots=True)
class ClusterRoleEntry:
    labels: Mapping[str, str]
    rules: tuple[Rule, ...]
    selectors: tuple[LabelSelector, ...] | None  # None: not an aggregated role

    @classmethod
    def of(cls, doc: Doc) -> ClusterRoleEntry:
        labels = _mapping(_mapping(doc.get("metadata")).get("labels"))
        rule = doc.get("aggregationRule")
        selectors = None
        if isinstance(rule, Mapping) and rule.get("clusterRoleSelectors"):
            selectors = _selectors(rule["clusterRoleSelectors"])
        return cls(dict(labels), rules_of(doc), selectors)


def _selectors(raw: Any) -> tuple[LabelSelector, ...]:
    try:
        return tuple(LabelSelector.model_validate(s, by_alias=True) for s in raw)
    except (ValidationError, TypeError):
        return ()  # admission let nothing like this in; it selects nothing


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate's message: one error as itself, more as `[a, b]`."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


@dataclass
class Policy:
    """Every RBAC object, indexed by who it grants to. Mutated only through `apply`."""

    roles: dict[tuple[str, str], tuple[Rule, ...]] = field(default_factory=dict)
    cluster_roles: dict[str, ClusterRoleEntry] = field(default_factory=dict)
    bindings: dict[tuple[str, str], Binding] = field(default_factory=dict)  # (namespace, name)
    _by_subject: dict[SubjectKey, set[tuple[str, str]]] = field(default_factory=dict)
    _aggregated: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    _decisions: dict[tuple[object, ...], Decision] = field(default_factory=dict, compare=False, repr=False)
    _named: dict[tuple[str, str, str], bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, objects: Iterable[Doc]) -> Policy:
        """A policy holding `objects` (stored RBAC JSON; other kinds are ignored)."""
        policy = cls()
        for obj in objects:
            meta = obj.get("metadata") or {}
            namespace, name = meta.get("namespace"), meta.get("name") or ""
            policy.apply(str(obj.get("kind")), f"{namespace}/{name}" if namespace else name, obj)
        return policy

    # -- keeping current ---------------------------------------------------------------------
    def apply(self, kind: str, key: str, obj: Doc | None) -> None:
        """Record the object stored at `key` of `kind` (or its plural); None: it is gone."""
        kind = RBAC_KINDS.get(kind, kind)
        namespace, _, name = key.rpartition("/")
        self._decisions.clear()
        self._named.clear()
        if kind == "Role":
            self._set(self.roles, (namespace, name), None if obj is None else rules_of(obj))
        elif kind == "ClusterRole":
            self._set(self.cluster_roles, name, None if obj is None else ClusterRoleEntry.of(obj))
            self._aggregated.clear()
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            ns = namespace if kind == "RoleBinding" else ""
            self._bind((ns, name), None if obj is None else Binding.of(kind, ns, name, obj))

    @staticmethod
    def _set(store: dict[Any, Any], key: Any, value: Any) -> None:
        if value is None:
            store.pop(key, None)
        else:
            store[key] = value

    def _bind(self, key: tuple[str, str], binding: Binding | None) -> None:
        old = self.bindings.pop(key, None)
        for subject in old.keys() if old else ():
            holders = self._by_subject.get(subject, set())
            holders.discard(key)
            if not holders:
                self._by_subject.pop(subject, None)
        if binding is not None:
            self.bindings[key] = binding
            for subject in binding.keys():
                self._by_subject.setdefault(subject, set()).add(key)

    # -- role rules ---------------------------------------------------------------------------
    def cluster_role_rules(self, name: str) -> tuple[Rule, ...] | None:
        """A ClusterRole's rules (an aggregated role's: the union it aggregates); None: absent."""
        role = self.cluster_roles.get(name)
        if role is None or role.selectors is None:
            return None if role is None else role.rules
        if name not in self._aggregated:
            self._aggregated[name] = self._aggregate_rules(name)
        return self._aggregated[name]

    def _aggregate_rules(self, name: str) -> tuple[Rule, ...]:
        """The rules of every plain ClusterRole reachable through the selectors of `name`
        and of the aggregated roles they reach (the aggregation controller's fixpoint)."""
        rules: dict[Rule, None] = {}
        seen, todo = {name}, [name]
        while todo:
            selectors = self.cluster_roles[todo.pop()].selectors or ()
            for other in sorted(self.cluster_roles):
                role = self.cluster_roles[other]
                if other in seen or not any(s.matches(dict(role.labels)) for s in selectors):
                    continue
                seen.add(other)
                if role.selectors is None:
                    rules.update(dict.fromkeys(role.rules))
                else:
                    todo.append(other)
        return tuple(rules)

    def role_ref_rules(self, kind: str, name: str, namespace: str, *,
                       plural: bool = False) -> tuple[tuple[Rule, ...], str | None]:
        """The rules a roleRef names (GetRoleReferenceRules), or the error: the role's
        NotFound as a lister (`clusterrole.rbac...`) or the registry (`plural`) says it."""
        if kind == "ClusterRole":
            rules = self.cluster_role_rules(name)
        elif kind == "Role":
            rules = self.roles.get((namespace, name))
        else:
            return (), f'unsupported role reference kind: "{kind}"'
        if rules is None:
            resource = kind.lower() + ("s" if plural else "")
            return (), f'{resource}.{RBAC_GROUP} "{name}" not found'
        return rules, None

    # -- deciding -----------------------------------------------------------------------------
    def _visit(self, user: UserInfo, namespace: str) -> Iterator[tuple[str, tuple[Rule, ...], str | None]]:
        """(source, rules, error) of every binding that applies to `user`: the
        ClusterRoleBindings, then the RoleBindings of `namespace`, each in name order."""
        mine = {(USER_KIND, user.name), *((GROUP_KIND, g) for g in user.groups)}
        keys = set().union(*(self._by_subject.get(k, set()) for k in mine))
        for key in sorted(k for k in keys if k[0] == ""):
            yield self._resolve(self.bindings[key], mine)
        for key in sorted(k for k in keys if namespace and k[0] == namespace):
            yield self._resolve(self.bindings[key], mine)

    def _resolve(self, binding: Binding, mine: set[SubjectKey]) -> tuple[str, tuple[Rule, ...], str | None]:
        subject = next(s for s in binding.subjects if s.key(binding.namespace) in mine)
        rules, error = self.role_ref_rules(binding.ref_kind, binding.ref_name, binding.namespace)
        return binding.describe(subject), rules, error

    def authorize(self, user: UserInfo, attrs: Attributes) -> Decision:
        """Allowed when a rule bound to `user` (for `attrs.namespace`) allows `attrs`;
        the same decision as `decide`, memoised until the policy changes."""
        name = attrs.name if attrs.name and self._names_matter(attrs) else ""  # else no rule reads it
        key = (user.name, user.groups, attrs.verb, attrs.api_group, attrs.resource, attrs.subresource,
               attrs.namespace, name, attrs.path)
        decision = self._decisions.get(key)
        if decision is None:
            if len(self._decisions) >= CACHED_DECISIONS:
                self._decisions.clear()
            decision = self._decisions[key] = self.decide(user, attrs)
        return decision

    def _names_matter(self, attrs: Attributes) -> bool:
        """Does any rule with `resourceNames` match the group and resource of `attrs`?
        (Rule.allows reads the name only then.) An aggregated role's rules are those of the
        plain ClusterRoles it selects, all among the rules walked here."""
        if attrs.path is not None:
            return False
        key = (attrs.api_group, attrs.combined_resource, attrs.subresource)
        if key not in self._named:
            rules = [*(r for rs in self.roles.values() for r in rs),
                     *(r for role in self.cluster_roles.values() for r in role.rules)]
            self._named[key] = any(
                rule.resource_names and (ALL in rule.api_groups or attrs.api_group in rule.api_groups)
                and rule._resource_matches(attrs.combined_resource, attrs.subresource) for rule in rules)
        return self._named[key]

    def decide(self, user: UserInfo, attrs: Attributes) -> Decision:
        """RBAC's decision, worked out from the bindings (`authorize` memoises it)."""
        if MASTERS_GROUP in user.groups:
            return Decision(True, f'allowed by group "{MASTERS_GROUP}"')
        errors: list[str] = []
        for source, rules, error in self._visit(user, attrs.namespace):
            if error:
                errors.append(error)
            elif any(rule.allows(attrs) for rule in rules):
                return Decision(True, f"RBAC: allowed by {source}")
        return Decision(False, f"RBAC: {_aggregate(errors)}" if errors else "")

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """Every rule bound to `user` in `namespace` ("" : cluster-wide only), and the
        errors met resolving bindings (RulesFor)."""
        rules: list[Rule] = []
        errors: list[str] = []
        for _source, found, error in self._visit(user, namespace):
            rules += found
            errors += [error] if error else []
        return rules, errors


# -- messages -------------------------------------------------------------------------------
_SANITIZE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def forbidden(resource: str, group: str, name: str, message: str) -> str:
    """apimachinery's NewForbidden message: `pods "web" is forbidden: ...`."""
    qualified = f"{resource}.{group}" if group else resource
    subject = f'{qualified} "{name}"' if name else qualified
    return f"{subject} is forbidden: {message}"


def forbidden_message(user: UserInfo, attrs: Attributes, *, reason: str = "") -> str:
    """The API server's answer to a request no authorizer allowed (responsewriters'
    ForbiddenStatusError); `reason` is the decision's, appended after a colon."""
    if attrs.path is not None:
        text = f'User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        where = (f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope")
        text = (f'User "{user.name}" cannot {attrs.verb} resource "{attrs.combined_resource}" '
                f'in API group "{attrs.api_group}" {where}')
    text = text.translate(_SANITIZE) + (f": {reason}" if reason else "")
    if attrs.path is not None:
        return f"forbidden: {text}"
    return forbidden(attrs.resource, attrs.api_group, attrs.name, text)
