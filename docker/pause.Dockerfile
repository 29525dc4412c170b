# kafkube/pause:1.0, the kubelet's pod infra container (holds the pod's network namespace):
# sleeps until SIGTERM/SIGINT, then exits 0 at once. The same image scripts/images.sh makes
# from Debian's busybox-static without a registry; compose builds this one when it is missing.
ARG BASE=busybox:1.36
FROM ${BASE}
CMD ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
