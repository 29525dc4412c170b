# kafkube/busybox:1.0, the image of the examples and tests: busybox with every applet on
# /bin. The same image scripts/images.sh makes without a registry; compose builds this one
# when it is missing.
ARG BASE=busybox:1.36
FROM ${BASE}
CMD ["sh"]
