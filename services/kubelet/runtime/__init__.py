"""Container runtimes the kubelet drives: Docker (real) and hollow (fake, for scale)."""
