//! Compose-specific knowledge: services, ports, Kafka listeners.
