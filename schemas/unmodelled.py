"""The Kubernetes fields of each model that Kafkube keeps as given but does not model.

Every model keeps unknown fields (``KubeModel``'s ``extra="allow"``), so a manifest with
``securityContext`` or a ``persistentVolumeClaim`` volume round-trips. The HTTP API's
OpenAPI documents (``services.apiserver.openapi``) publish these names as open fields
(``x-kubernetes-preserve-unknown-fields``) beside the modelled ones, so that strict
field validation (``services.apiserver.fieldvalidation``) accepts every field Kubernetes
has and refuses only names Kubernetes does not know (a typo such as ``spec.replica``).

Derived from the JSON tags and Go types of k8s.io/api's core/v1, apps/v1, rbac/v1 and
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

UNMODELLED: dict[type[KubeModel], dict[str, str]] = {
    ObjectMeta: {"selfLink": "string"},
    NodeSpec: {"configSource": "object", "externalID": "string"},
    NodeStatus: {"daemonEndpoints": "object", "images": "[]object", "volumesInUse": "[]string",
                 "volumesAttached": "[]object", "config": "object", "runtimeHandlers": "[]object",
                 "features": "object", "declaredFeatures": "[]string"},
    NodeSystemInfo: {"swap": "object"},
    PodSpec: {"ephemeralContainers": "[]object", "serviceAccount": "string", "hostPID": "boolean",
              "hostIPC": "boolean", "shareProcessNamespace": "boolean", "securityContext": "object",
              "hostAliases": "[]object", "dnsConfig": "object", "readinessGates": "[]object",
              "enableServiceLinks": "boolean", "preemptionPolicy": "string",
              "topologySpreadConstraints": "[]object", "setHostnameAsFQDN": "boolean",
              "os": "object", "hostUsers": "boolean", "schedulingGates": "[]object",
              "resourceClaims": "[]object", "resources": "object", "hostnameOverride": "string",
              "schedulingGroup": "object"},
    Container: {"resizePolicy": "[]object", "restartPolicy": "string", "restartPolicyRules": "[]object",
                "volumeDevices": "[]object", "lifecycle": "object", "securityContext": "object",
                "stdinOnce": "boolean"},
    EnvVarSource: {"fileKeyRef": "object"},
    ResourceRequirements: {"claims": "[]object"},
    VolumeMount: {"recursiveReadOnly": "string", "mountPropagation": "string", "subPathExpr": "string"},
    Probe: {"grpc": "object"},
    Volume: {"gcePersistentDisk": "object", "awsElasticBlockStore": "object", "gitRepo": "object",
             "nfs": "object", "iscsi": "object", "glusterfs": "object", "persistentVolumeClaim": "object",
             "rbd": "object", "flexVolume": "object", "cinder": "object", "cephfs": "object",
             "flocker": "object", "downwardAPI": "object", "fc": "object", "azureFile": "object",
             "vsphereVolume": "object", "quobyte": "object", "azureDisk": "object",
             "photonPersistentDisk": "object", "projected": "object", "portworxVolume": "object",
             "scaleIO": "object", "storageos": "object", "csi": "object", "ephemeral": "object",
             "image": "object"},
    Affinity: {"podAffinity": "object", "podAntiAffinity": "object"},
    PodStatus: {"observedGeneration": "integer", "ephemeralContainerStatuses": "[]object", "resize": "string",
                "resourceClaimStatuses": "[]object", "extendedResourceClaimStatus": "object",
                "allocatedResources": "object", "resources": "object",
                "nodeAllocatableResourceClaimStatuses": "[]object"},
    ContainerStatus: {"allocatedResources": "object", "resources": "object", "volumeMounts": "[]object",
                      "user": "object", "allocatedResourcesStatus": "[]object", "stopSignal": "string"},
    ServiceSpec: {"loadBalancerSourceRanges": "[]string", "healthCheckNodePort": "integer",
                  "sessionAffinityConfig": "object", "ipFamilies": "[]string", "ipFamilyPolicy": "string",
                  "allocateLoadBalancerNodePorts": "boolean", "loadBalancerClass": "string",
                  "trafficDistribution": "string"},
    LoadBalancerIngress: {"ipMode": "string", "ports": "[]object"},
    ReplicaSetStatus: {"terminatingReplicas": "integer"},
    DeploymentStatus: {"terminatingReplicas": "integer"},
}
"""Per model, the JSON names of the Kubernetes fields it keeps without modelling them, with
their JSON type: `string`, `integer`, `boolean`, `object`, or `[]<type>` for a list."""
