//! Email through SMTP (lettre).
