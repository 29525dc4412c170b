"""Shared real-world manifests for the schema tests."""

from __future__ import annotations

DEPLOYMENT = b"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: frontend}
  annotations:
    kubernetes.io/change-cause: "first rollout"
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [frontend]}
  template:
    metadata:
      labels: {app: web, tier: frontend}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        args: ["--port", "8080"]
        env:
        - name: MODE
          value: production
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: db, key: password}
        - name: POD_IP
          valueFrom:
            fieldRef: {fieldPath: status.podIP}
        envFrom:
        - configMapRef: {name: web-config}
        ports:
        - {name: http, containerPort: 8080}
        resources:
          requests: {cpu: 250m, memory: 64Mi}
          limits: {cpu: "0.5", memory: 1Gi}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          initialDelaySeconds: 5
        livenessProbe:
          tcpSocket: {port: 8080}
        lifecycle:
          preStop:
            exec: {command: ["sleep", "5"]}
        volumeMounts:
        - {name: config, mountPath: /etc/web}
        - {name: cache, mountPath: /cache}
      volumes:
      - name: config
        configMap:
          name: web-config
          items: [{key: nginx.conf, path: nginx.conf, mode: 0644}]
      - name: cache
        emptyDir: {sizeLimit: 1Gi}
      tolerations:
      - {key: dedicated, operator: Equal, value: web, effect: NoSchedule}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: kubernetes.io/os, operator: In, values: [linux]}
"""

SERVICE = b"""\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: 9090, protocol: TCP}
"""

CONFIGMAP = b"""\
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data:
  nginx.conf: |
    server { listen 8080; }
  released: 2024-01-01
"""

SECRET = b"""\
apiVersion: v1
kind: Secret
metadata: {name: db}
type: Opaque
data:
  user: YWRtaW4=
stringData:
  password: s3cr3t
"""

RC = b"""\
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: legacy}
    spec:
      containers:
      - {name: app, image: busybox, command: [sleep, "3600"]}
"""

NAMESPACE = b"""\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  creationTimestamp: null
"""

NODE = b"""\
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {kubernetes.io/hostname: node-1}
spec:
  podCIDR: 10.244.1.0/24
  taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: 3800m, memory: 7Gi, pods: "110"}
  conditions:
  - type: Ready
    status: "True"
    lastHeartbeatTime: "2024-05-01T10:00:00Z"
    lastTransitionTime: "2024-05-01T09:00:00Z"
    reason: KubeletReady
  addresses: [{type: InternalIP, address: 172.18.0.3}]
  nodeInfo: {machineID: abc, kubeletVersion: v0.1.0, architecture: amd64}
"""

ALL = [DEPLOYMENT, SERVICE, CONFIGMAP, SECRET, RC, NAMESPACE, NODE]
