"""Events to a message broker (NATS JetStream) from their own outbox: docs/cluster.md "Events to NATS"."""
