//! Kafka listener analysis (placeholder).
