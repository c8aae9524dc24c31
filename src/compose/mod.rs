//! Compose-specific knowledge: services, ports, Kafka listeners.

pub mod kafka;
pub mod model;
pub mod ports;

pub use model::{Compose, Origin, Service, Setting, ShapeError};
