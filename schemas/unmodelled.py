"""The Kubernetes fields of each model that Kafkube keeps as given but does not model.

Every model keeps unknown fields (``KubeModel``'s ``extra="allow"``), so a manifest with
``securityContext`` or a ``persistentVolumeClaim`` volume round-trips. The HTTP API's
OpenAPI documents (``services.apiserver.openapi``) publish these names as open fields
(``x-kubernetes-preserve-unknown-fields``) beside the modelled ones, so that strict
field validation (``services.apiserver.fieldvalidation``) accepts every field Kubernetes
has and refuses only names Kubernetes does not know (a typo such as ``spec.replica``).

Derived from the JSON tags of k8s.io/api's core/v1, apps/v1, rbac/v1 and
apimachinery's meta/v1 types; a model absent here models every field of its type.
"""

from __future__ import annotations

from schemas.apps import DeploymentStatus, ReplicaSetStatus
from schemas.core import LoadBalancerIngress, NodeSpec, NodeStatus, NodeSystemInfo, ServiceSpec
from schemas.meta import KubeModel, ObjectMeta
from schemas.pod import (
    Affinity,
    Container,
    ContainerStatus,
    EnvVarSource,
    PodSpec,
    PodStatus,
    Probe,
    ResourceRequirements,
    Volume,
    VolumeMount,
)

UNMODELLED: dict[type[KubeModel], tuple[str, ...]] = {
    ObjectMeta: ("selfLink", "managedFields"),
    NodeSpec: ("configSource", "externalID"),
    NodeStatus: ("daemonEndpoints", "images", "volumesInUse", "volumesAttached", "config", "runtimeHandlers",
                 "features", "declaredFeatures"),
    NodeSystemInfo: ("swap",),
    PodSpec: ("ephemeralContainers", "serviceAccount", "hostPID", "hostIPC", "shareProcessNamespace",
              "securityContext", "hostAliases", "dnsConfig", "readinessGates", "runtimeClassName",
              "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN",
              "os", "hostUsers", "schedulingGates", "resourceClaims", "resources", "hostnameOverride",
              "schedulingGroup"),
    Container: ("resizePolicy", "restartPolicy", "restartPolicyRules", "volumeDevices", "lifecycle",
                "securityContext", "stdinOnce"),
    EnvVarSource: ("fileKeyRef",),
    ResourceRequirements: ("claims",),
    VolumeMount: ("recursiveReadOnly", "mountPropagation", "subPathExpr"),
    Probe: ("grpc",),
    Volume: ("gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
             "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc",
             "azureFile", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
             "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image"),
    Affinity: ("podAffinity", "podAntiAffinity"),
    PodStatus: ("observedGeneration", "ephemeralContainerStatuses", "resize", "resourceClaimStatuses",
                "extendedResourceClaimStatus", "allocatedResources", "resources",
                "nodeAllocatableResourceClaimStatuses"),
    ContainerStatus: ("allocatedResources", "resources", "volumeMounts", "user", "allocatedResourcesStatus",
                      "stopSignal"),
    ServiceSpec: ("loadBalancerSourceRanges", "healthCheckNodePort", "sessionAffinityConfig", "ipFamilies",
                  "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass", "trafficDistribution"),
    LoadBalancerIngress: ("ipMode", "ports"),
    ReplicaSetStatus: ("terminatingReplicas",),
    DeploymentStatus: ("terminatingReplicas",),
}
"""Per model, the JSON names of the Kubernetes fields it keeps without modelling them."""
