"""The Kubernetes HTTP API (`kafkube serve apiserver`): a front door over the informers
and `kafkube.requests`, so kubectl and the client libraries talk to Kafkube. See README.md."""
