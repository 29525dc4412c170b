"""The runtime every Kafkube service stands on: settings, logging, the Kafka bus,
the informer (materialised views of compacted topics) and the process supervisor."""
