"""The ingress controller (`kafkube serve ingress`): Ingresses of class `kafkube.io/ingress` served as an HTTP(S) reverse proxy."""
