//! An SMTP server on loopback that keeps what it receives.
