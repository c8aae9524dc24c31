//! Compose-specific knowledge: services, ports, Kafka listeners.

pub mod model;

pub use model::{Compose, Origin, Service, Setting, ShapeError};
