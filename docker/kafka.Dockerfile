# A stand-in for the official apache/kafka image, built without a registry by
# scripts/compose-images.sh: a debootstrap Debian base, Debian's Java 17 JRE, and the same
# Apache Kafka 4.1.1 jars the tests use (fetched by scripts/kafka.sh with Maven).
#
# It follows the official image's contract as far as docker-compose.yml uses it:
#   - configuration from KAFKA_* environment variables (KAFKA_NODE_ID -> node.id; `_` -> `.`,
#     `__` -> `_`, `___` -> `-`), CLUSTER_ID for formatting the KRaft storage on first start,
#     KAFKA_HEAP_OPTS / KAFKA_OPTS for the JVM;
#   - data in /var/lib/kafka/data (a volume), the user appuser, CMD /etc/kafka/docker/run;
#   - /opt/kafka/bin/kafka-broker-api-versions.sh for healthchecks;
#   - kafka-tools' jars in /opt/kafka/tools (the official image's kafka-acls.sh runs the same
#     class), for docker/bin/kafkube-kafka-acls.
ARG BASE=kafkube/debian-base:bookworm
FROM ${BASE}

ARG DEBIAN_FRONTEND=noninteractive
RUN set -eux; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; \
    rm -rf /var/lib/apt/lists/*; \
    java -version

RUN set -eux; \
    useradd --uid 1000 --user-group --home-dir /home/appuser --create-home --shell /bin/bash appuser; \
    mkdir -p /opt/kafka/libs /opt/kafka/bin /opt/kafka/config /etc/kafka/docker /var/lib/kafka/data; \
    chown -R appuser:appuser /opt/kafka/config /var/lib/kafka

COPY libs/ /opt/kafka/libs/
# kafka-acls (org.apache.kafka.tools.AclCommand) and its dependencies: the compose `acls` step.
COPY tools/ /opt/kafka/tools/
COPY docker/kafka/run /etc/kafka/docker/run
COPY docker/kafka/kafka-broker-api-versions.sh /opt/kafka/bin/kafka-broker-api-versions.sh
RUN chmod 0755 /etc/kafka/docker/run /opt/kafka/bin/*.sh

USER appuser
WORKDIR /home/appuser
VOLUME ["/var/lib/kafka/data"]
EXPOSE 9092
CMD ["/etc/kafka/docker/run"]
