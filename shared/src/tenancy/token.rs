use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use std::fmt;

/// A bearer token as handed to a client once: 256 random bits, URL-safe, with a prefix that
/// makes a leaked token recognisable to secret scanners.
pub struct BearerToken(String);

const PREFIX: &str = "sct_";

impl BearerToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        BearerToken(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token as presented in a request; its form is checked before any lookup.
    pub fn presented(text: &str) -> Option<Self> {
        let body = text.strip_prefix(PREFIX)?;
        (body.len() == 43
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| BearerToken(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// Only this hash is stored: a database leak does not hand out sessions.
    pub fn hash(&self) -> TokenHash {
        TokenHash(crate::crypto::sha256_hex(self.0.as_bytes()))
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_presentable_and_distinct() {
        let a = BearerToken::generate();
        let b = BearerToken::generate();
        assert_ne!(a.as_str(), b.as_str());
        assert!(BearerToken::presented(a.as_str()).is_some());
        assert_eq!(a.hash().as_str().len(), 64);
        assert_eq!(BearerToken::presented(a.as_str()).unwrap().hash(), a.hash());
    }

    #[test]
    fn malformed_tokens_are_refused_before_lookup() {
        assert!(BearerToken::presented("sct_short").is_none());
        assert!(BearerToken::presented("abc").is_none());
        assert!(BearerToken::presented(&format!("sct_{}", "!".repeat(43))).is_none());
    }
}
