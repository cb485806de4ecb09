use crate::error::{Error, FieldError};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::fmt;

/// A password as typed, checked for length. Never logged or serialised.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let length = raw.chars().count();
        if length < Self::MIN_CHARS {
            return Err(FieldError::new(
                "too_short",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if length > Self::MAX_CHARS {
            return Err(FieldError::new(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Password(raw.to_owned()))
    }

    /// A password for verification only: what someone typed at login, unchecked, so that a
    /// too-short guess gets the same 401 as a wrong one.
    pub fn attempt(raw: &str) -> Self {
        Password(raw.to_owned())
    }

    /// Argon2id with the crate's default (OWASP) parameters. CPU- and memory-hard on purpose:
    /// call it off the async executor.
    pub fn hash(&self) -> Result<PasswordHash, Error> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|hash| PasswordHash(hash.to_string()))
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    }
}

/// A PHC-format argon2id hash as stored in the database.
#[derive(Clone)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

impl PasswordHash {
    pub fn from_db(text: String) -> Self {
        PasswordHash(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `password` is this one. No hash (an invited member's empty one) verifies
    /// nothing, in the time a real check takes.
    pub fn verify(&self, password: &Password) -> bool {
        match argon2::PasswordHash::new(&self.0) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.0.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => {
                Self::verify_against_nothing(password);
                false
            }
        }
    }

    /// Spend the same time as a real check when there is no account, so that response time
    /// does not tell which emails are registered.
    pub fn verify_against_nothing(password: &Password) {
        static DUMMY: std::sync::OnceLock<Option<PasswordHash>> = std::sync::OnceLock::new();
        if let Some(dummy) = DUMMY.get_or_init(|| Password("not-a-real-password".into()).hash().ok()) {
            let _ = dummy.verify(password);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = password.hash().unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify(&password));
        assert!(!hash.verify(&Password::attempt("wrong horse battery")));
    }

    #[test]
    fn length_bounds() {
        assert_eq!(Password::parse("short").unwrap_err().code, "too_short");
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }
}
