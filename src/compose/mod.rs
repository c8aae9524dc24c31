//! Compose-specific knowledge: services, ports, Kafka listeners.

pub mod image;
pub mod interp;
pub mod kafka;
pub mod merge;
pub mod model;
pub mod ports;
pub mod project;
pub mod values;

pub use model::{Compose, Extends, Origin, Service, Setting, ShapeError};
