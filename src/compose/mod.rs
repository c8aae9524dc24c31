//! Compose-specific knowledge: services, ports, Kafka listeners.

pub mod kafka;
pub mod ports;
