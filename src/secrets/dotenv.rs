//! Lossless `.env` model (in progress).
