"""The `kafkube` command line: serve services, apply/get/describe/delete objects,
tail events. Talks to the cluster only through Kafka topics."""
