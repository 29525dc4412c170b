"""``apps/v1`` resources: ReplicaSet and Deployment.

Used by the API (admission), the replicaset and deployment controllers (spec, status,
rollout strategy) and the CLI (``rollout``, ``scale``).
"""

from __future__ import annotations

from typing import Literal

from schemas.meta import Condition, Int32, Int64, IntOrString, KubeModel, LabelSelector, Resource
from schemas.pod import PodTemplateSpec


class ReplicaSetSpec(KubeModel):
    replicas: Int32 | None = None
    min_ready_seconds: Int32 | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None


class ReplicaSetStatus(KubeModel):
    replicas: Int32 | None = None
    fully_labeled_replicas: Int32 | None = None
    ready_replicas: Int32 | None = None
    available_replicas: Int32 | None = None
    observed_generation: Int64 | None = None
    conditions: list[Condition] | None = None


class ReplicaSet(Resource):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ReplicaSet"] = "ReplicaSet"
    spec: ReplicaSetSpec | None = None
    status: ReplicaSetStatus | None = None


class RollingUpdateDeployment(KubeModel):
    max_surge: IntOrString | None = None
    max_unavailable: IntOrString | None = None


class DeploymentStrategy(KubeModel):
    type: Literal["RollingUpdate", "Recreate"] | None = None
    rolling_update: RollingUpdateDeployment | None = None


class DeploymentSpec(KubeModel):
    replicas: Int32 | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None
    strategy: DeploymentStrategy | None = None
    min_ready_seconds: Int32 | None = None
    revision_history_limit: Int32 | None = None
    paused: bool | None = None
    progress_deadline_seconds: Int32 | None = None


class DeploymentStatus(KubeModel):
    observed_generation: Int64 | None = None
    replicas: Int32 | None = None
    updated_replicas: Int32 | None = None
    ready_replicas: Int32 | None = None
    available_replicas: Int32 | None = None
    unavailable_replicas: Int32 | None = None
    conditions: list[Condition] | None = None
    collision_count: Int32 | None = None


class Deployment(Resource):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    spec: DeploymentSpec | None = None
    status: DeploymentStatus | None = None
