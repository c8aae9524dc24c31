//! Secrets: credential detection, value generation and `.env` files.
