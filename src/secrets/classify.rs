//! Credential classification (in progress).
