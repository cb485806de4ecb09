//! Encryption at rest of clients' sensitive fields (allergies, medical notes, skin history).
//!
//! XChaCha20-Poly1305, because its 24-byte nonces can be drawn at random for every value
//! without a counter shared between processes. Every stored value names the key that sealed
//! it, so a key is rotated by putting a new one first in `DATA_KEYS` and re-encrypting the
//! values that [`Keyring::needs_rotation`] points out, while the old key still decrypts.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::fmt;

/// SHA-256 of `bytes` as lower-case hex: how tokens, request bodies and links are stored and
/// compared without keeping what they hash.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The first part of every stored value; a new format would get a new version.
const VERSION: &str = "v1";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Poly1305's tag, at the end of every ciphertext: shorter input cannot be ours.
const TAG_LEN: usize = 16;

/// The data keys, from the `DATA_KEYS` setting: "ID:BASE64KEY[,ID:BASE64KEY…]", the first one
/// encrypts, all of them decrypt (so old rows stay readable after a new key is put first).
/// IDs: 1–16 chars [A-Za-z0-9_-]. Keys: 32 bytes, standard base64. Debug never shows key
/// material.
#[derive(Clone)]
pub struct Keyring {
    /// Never empty; the first encrypts. Held as ciphers, which wipe their key when dropped.
    keys: Vec<(String, XChaCha20Poly1305)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key was removed from `DATA_KEYS` before every value sealed with it was rotated.
    #[error("the value was encrypted with key \"{0}\", which is not in DATA_KEYS")]
    UnknownKey(String),
    /// Not something [`Keyring::encrypt`] produced (plain text, truncated, another format).
    #[error("the stored value is not an encrypted value (expected v1.<key id>.<nonce>.<ciphertext>)")]
    Malformed,
    /// Altered bytes, a value copied from another row or field, or other key bytes under the
    /// same id: the cipher cannot tell these apart, and none of them may yield plain text.
    #[error("the encrypted value failed authentication: it was altered, or belongs to another record or field")]
    AuthenticationFailed,
}

impl Keyring {
    /// Reads a `DATA_KEYS` spec. The message names the entry and what is wrong with it, never
    /// the key text (it ends up in logs); a key id is named only once it is a valid one.
    pub fn parse(spec: &str) -> Result<Keyring, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("DATA_KEYS is empty: it must be ID:BASE64KEY[,ID:BASE64KEY…]".into());
        }
        let mut keys: Vec<(String, XChaCha20Poly1305)> = Vec::new();
        for (index, entry) in spec.split(',').enumerate() {
            let n = index + 1;
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(format!("DATA_KEYS entry {n} is empty"));
            }
            let Some((id, key)) = entry.split_once(':') else {
                return Err(format!("DATA_KEYS entry {n} must be ID:BASE64KEY"));
            };
            let (id, key) = (id.trim(), key.trim());
            if !is_key_id(id) {
                return Err(format!(
                    "DATA_KEYS entry {n}: the key id must be 1 to 16 characters among A-Z, a-z, 0-9, _ and -"
                ));
            }
            if keys.iter().any(|(known, _)| known == id) {
                return Err(format!("DATA_KEYS has the key id {id} twice"));
            }
            // The decoder's own error quotes the offending byte: not repeated here.
            let bytes = STANDARD
                .decode(key)
                .map_err(|_| format!("DATA_KEYS key {id} is not valid standard base64"))?;
            if bytes.len() != KEY_LEN {
                return Err(format!(
                    "DATA_KEYS key {id} is {} bytes long; it must be {KEY_LEN} bytes (44 base64 characters)",
                    bytes.len()
                ));
            }
            keys.push((id.to_owned(), XChaCha20Poly1305::new(Key::from_slice(&bytes))));
        }
        Ok(Keyring { keys })
    }

    /// A fresh spec with one random key, id like "k20261125" (for first start of the embedded
    /// database and for tests). Two specs made on one day share the id: rename one before
    /// putting both in `DATA_KEYS`.
    pub fn generate_spec() -> String {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        format!("{}:{}", chrono::Utc::now().format("k%Y%m%d"), STANDARD.encode(key))
    }

    pub fn current_key_id(&self) -> &str {
        &self.current().0
    }

    /// Every key id in the ring, the current one first (a restore checks that the restored
    /// values' keys are among them).
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    /// "v1.<key id>.<base64url nonce>.<base64url ciphertext>", 24-byte random nonce. `context`
    /// is bound as associated data (the caller passes e.g. "tenant/client/field") so a
    /// ciphertext copied to another row or field fails to decrypt.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let (id, cipher) = self.current();
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        // The only refusal is a message over 256 GiB, which no `&str` field reaches.
        let ciphertext = cipher
            .encrypt(&nonce, payload)
            .expect("XChaCha20-Poly1305 refuses only messages over 256 GiB");
        format!(
            "{VERSION}.{id}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        )
    }

    /// The plain text of a value from [`Keyring::encrypt`], given the same `context`.
    pub fn decrypt(&self, stored: &str, context: &str) -> Result<String, CryptoError> {
        let sealed = Sealed::parse(stored).ok_or(CryptoError::Malformed)?;
        let cipher = self
            .keys
            .iter()
            .find(|(id, _)| id == sealed.key_id)
            .map(|(_, cipher)| cipher)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.to_owned()))?;
        let nonce = URL_SAFE_NO_PAD
            .decode(sealed.nonce)
            .ok()
            .filter(|nonce| nonce.len() == NONCE_LEN)
            .ok_or(CryptoError::Malformed)?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(sealed.ciphertext)
            .ok()
            .filter(|ciphertext| ciphertext.len() >= TAG_LEN)
            .ok_or(CryptoError::Malformed)?;
        let payload = Payload {
            msg: &ciphertext,
            aad: context.as_bytes(),
        };
        let plaintext = cipher
            .decrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| CryptoError::AuthenticationFailed)?;
        // Authenticated, so written by `encrypt` from a `&str`: only a key leak could fail this.
        String::from_utf8(plaintext).map_err(|_| CryptoError::Malformed)
    }

    /// True when `stored` was encrypted with a key other than the current one (a rotation job
    /// re-encrypts those). Also true for a key no longer in the ring, so the job reports it;
    /// false for a value that is not an encrypted value at all, which re-encrypting cannot fix.
    pub fn needs_rotation(&self, stored: &str) -> bool {
        Sealed::parse(stored).is_some_and(|sealed| sealed.key_id != self.current_key_id())
    }

    fn current(&self) -> &(String, XChaCha20Poly1305) {
        // `parse` is the only constructor and refuses an empty spec.
        &self.keys[0]
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish_non_exhaustive()
    }
}

fn is_key_id(id: &str) -> bool {
    (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The four dot-separated parts of a stored value (no key id or base64url text has a dot).
struct Sealed<'a> {
    key_id: &'a str,
    nonce: &'a str,
    ciphertext: &'a str,
}

impl<'a> Sealed<'a> {
    fn parse(stored: &'a str) -> Option<Self> {
        let mut parts = stored.split('.');
        let (version, key_id, nonce, ciphertext) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        (version == VERSION && is_key_id(key_id) && parts.next().is_none()).then_some(Sealed {
            key_id,
            nonce,
            ciphertext,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const OLD_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // bytes 0..32
    const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="; // bytes 32..64
    const CONTEXT: &str = "tenant-1/client-7/allergies";

    fn keyring(spec: &str) -> Keyring {
        Keyring::parse(spec).unwrap()
    }

    fn old() -> Keyring {
        keyring(&format!("k2025:{OLD_KEY}"))
    }

    /// The stored value with one bit of its ciphertext flipped.
    fn flip_bit(stored: &str, byte: usize) -> String {
        let (head, ciphertext) = stored.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(ciphertext).unwrap();
        bytes[byte] ^= 0x01;
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    #[test]
    fn test_keys_are_what_they_say() {
        assert_eq!(STANDARD.decode(OLD_KEY).unwrap(), (0..32).collect::<Vec<u8>>());
        assert_eq!(STANDARD.decode(NEW_KEY).unwrap(), (32..64).collect::<Vec<u8>>());
    }

    #[test]
    fn round_trips_chinese_ascii_and_empty_text() {
        let keys = old();
        for text in [
            "对花粉过敏，青霉素过敏",
            "Allergic to latex; sensitive skin since 2019",
            "",
            "混合 mixed 😀 text\nover two lines",
        ] {
            let stored = keys.encrypt(text, CONTEXT);
            assert_eq!(keys.decrypt(&stored, CONTEXT).unwrap(), text);
        }
    }

    #[test]
    fn stored_values_are_versioned_and_name_their_key() {
        let stored = old().encrypt("敏感肌", CONTEXT);
        let parts: Vec<&str> = stored.split('.').collect();
        assert_eq!(parts.len(), 4, "{stored}");
        assert_eq!((parts[0], parts[1]), ("v1", "k2025"));
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), NONCE_LEN);
        // "敏感肌" is 9 bytes of UTF-8, plus the 16-byte tag.
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[3]).unwrap().len(), 9 + TAG_LEN);
        assert!(!stored.contains("敏感肌"));
    }

    #[test]
    fn the_same_text_is_sealed_differently_each_time() {
        let keys = old();
        let first = keys.encrypt("孕期，避免精油", CONTEXT);
        let second = keys.encrypt("孕期，避免精油", CONTEXT);
        assert_ne!(first, second);
        assert_ne!(first.split('.').nth(2), second.split('.').nth(2), "nonces must differ");
        assert_eq!(
            keys.decrypt(&first, CONTEXT).unwrap(),
            keys.decrypt(&second, CONTEXT).unwrap()
        );
    }

    #[test]
    fn a_value_moved_to_another_row_or_field_does_not_decrypt() {
        let keys = old();
        let stored = keys.encrypt("青霉素过敏", "tenant-1/client-7/allergies");
        for other in [
            "tenant-1/client-8/allergies",
            "tenant-1/client-7/medical_notes",
            "tenant-2/client-7/allergies",
            "",
        ] {
            assert_eq!(
                keys.decrypt(&stored, other),
                Err(CryptoError::AuthenticationFailed),
                "{other}"
            );
        }
    }

    #[test]
    fn tampered_values_do_not_decrypt() {
        let keys = old();
        let stored = keys.encrypt("hypertension, no hot stones", CONTEXT);
        // A flipped bit in the text, and in the tag at the end.
        assert_eq!(
            keys.decrypt(&flip_bit(&stored, 0), CONTEXT),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            keys.decrypt(&flip_bit(&stored, 30), CONTEXT),
            Err(CryptoError::AuthenticationFailed)
        );
        // Another nonce.
        let parts: Vec<&str> = stored.split('.').collect();
        let other_nonce = URL_SAFE_NO_PAD.encode([7u8; NONCE_LEN]);
        let renonced = format!("v1.k2025.{other_nonce}.{}", parts[3]);
        assert_eq!(keys.decrypt(&renonced, CONTEXT), Err(CryptoError::AuthenticationFailed));
        // Cut short by a byte.
        let mut bytes = URL_SAFE_NO_PAD.decode(parts[3]).unwrap();
        bytes.pop();
        let truncated = format!("v1.k2025.{}.{}", parts[2], URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            keys.decrypt(&truncated, CONTEXT),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn other_key_bytes_under_the_same_id_fail_authentication() {
        let stored = old().encrypt("secret", CONTEXT);
        let impostor = keyring(&format!("k2025:{NEW_KEY}"));
        assert_eq!(
            impostor.decrypt(&stored, CONTEXT),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn what_is_not_an_encrypted_value_is_malformed() {
        let keys = old();
        let good = keys.encrypt("x", CONTEXT);
        let parts: Vec<&str> = good.split('.').collect();
        let short_nonce = URL_SAFE_NO_PAD.encode([1u8; 12]);
        for bad in [
            String::new(),
            "对花粉过敏".into(),
            "v1.k2025".into(),
            format!("v2.k2025.{}.{}", parts[2], parts[3]),
            format!("{good}.extra"),
            format!("v1.k2025.{short_nonce}.{}", parts[3]),
            format!("v1.k2025.{}.not*base64", parts[2]),
            format!("v1.k2025.{}.{}", parts[2], URL_SAFE_NO_PAD.encode([0u8; TAG_LEN - 1])),
            format!("v1.bad id!.{}.{}", parts[2], parts[3]),
            format!("v1..{}.{}", parts[2], parts[3]),
        ] {
            assert_eq!(keys.decrypt(&bad, CONTEXT), Err(CryptoError::Malformed), "{bad}");
            assert!(!keys.needs_rotation(&bad), "{bad}");
        }
    }

    #[test]
    fn a_removed_key_is_named() {
        let stored = old().encrypt("secret", CONTEXT);
        let other = keyring(&format!("k2026:{NEW_KEY}"));
        let error = other.decrypt(&stored, CONTEXT).unwrap_err();
        assert_eq!(error, CryptoError::UnknownKey("k2025".into()));
        assert!(error.to_string().contains("\"k2025\""), "{error}");
        // Still flagged for rotation, so the rotation job reports it rather than skipping it.
        assert!(other.needs_rotation(&stored));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_rewrites_them() {
        let before = old();
        let stored = before.encrypt("对花粉过敏", CONTEXT);
        assert!(!before.needs_rotation(&stored));

        let after = keyring(&format!("k2026:{NEW_KEY}, k2025:{OLD_KEY}"));
        assert_eq!(after.current_key_id(), "k2026");
        assert_eq!(after.decrypt(&stored, CONTEXT).unwrap(), "对花粉过敏");
        assert!(after.needs_rotation(&stored));

        let rotated = after.encrypt(&after.decrypt(&stored, CONTEXT).unwrap(), CONTEXT);
        assert!(rotated.starts_with("v1.k2026."), "{rotated}");
        assert!(!after.needs_rotation(&rotated));
        assert_eq!(after.decrypt(&rotated, CONTEXT).unwrap(), "对花粉过敏");
        // Once every value is rotated the old key can go.
        let only_new = keyring(&format!("k2026:{NEW_KEY}"));
        assert_eq!(only_new.decrypt(&rotated, CONTEXT).unwrap(), "对花粉过敏");
    }

    #[test]
    fn parse_accepts_spaces_around_entries_and_keeps_the_order() {
        let keys = keyring(&format!(" new_1 : {NEW_KEY} ,\n old-0:{OLD_KEY} "));
        assert_eq!(keys.current_key_id(), "new_1");
        assert_eq!(format!("{keys:?}"), r#"Keyring { key_ids: ["new_1", "old-0"], .. }"#);
        let sixteen = "A".repeat(16);
        assert_eq!(keyring(&format!("{sixteen}:{OLD_KEY}")).current_key_id(), sixteen);
    }

    #[test]
    fn parse_errors_say_what_is_wrong_without_the_key() {
        let short_key = STANDARD.encode([9u8; 16]);
        let long_key = STANDARD.encode([9u8; 33]);
        let bad_base64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8*";
        let url_safe = URL_SAFE_NO_PAD.encode([0xfbu8; 32]);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "empty"),
            ("   ".into(), "empty"),
            (format!("k1:{OLD_KEY},"), "entry 2 is empty"),
            (OLD_KEY.into(), "entry 1 must be ID:BASE64KEY"),
            (format!("k1:{bad_base64}"), "key k1 is not valid standard base64"),
            (format!("k1:{url_safe}"), "key k1 is not valid standard base64"),
            (format!("k1:{short_key}"), "16 bytes long; it must be 32 bytes"),
            (format!("k1:{long_key}"), "33 bytes long; it must be 32 bytes"),
            ("k1:".into(), "0 bytes long"),
            (format!("k1:{OLD_KEY},k1:{NEW_KEY}"), "the key id k1 twice"),
            (format!("k 1:{OLD_KEY}"), "entry 1: the key id must be"),
            (format!("k.1:{OLD_KEY}"), "entry 1: the key id must be"),
            (format!(":{OLD_KEY}"), "entry 1: the key id must be"),
            (format!("{}:{OLD_KEY}", "a".repeat(17)), "entry 1: the key id must be"),
            (format!("钥匙:{OLD_KEY}"), "entry 1: the key id must be"),
            // Key and id swapped: the "id" is key material and must not be echoed.
            (format!("{NEW_KEY}:k1"), "entry 1: the key id must be"),
        ];
        for (spec, expected) in cases {
            let message = Keyring::parse(&spec).unwrap_err();
            assert!(message.contains(expected), "{spec:?} gave {message:?}");
            for secret in [OLD_KEY, NEW_KEY, bad_base64, &short_key, &long_key, &url_safe] {
                assert!(!message.contains(&secret[..8]), "{message:?} shows key text");
            }
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let keys = keyring(&format!("k2026:{NEW_KEY},k2025:{OLD_KEY}"));
        let debug = format!("{keys:?} {keys:#?}");
        assert!(debug.contains("k2026") && debug.contains("k2025"));
        for key in [OLD_KEY, NEW_KEY] {
            let bytes = STANDARD.decode(key).unwrap();
            assert!(!debug.contains(&key[..8]));
            assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(&bytes)[..8]));
            assert!(!debug.contains(&format!("{}, {}, {}", bytes[1], bytes[2], bytes[3])));
        }
    }

    #[test]
    fn generated_specs_are_valid_and_distinct() {
        let spec = Keyring::generate_spec();
        let (id, key) = spec.split_once(':').unwrap();
        assert_eq!(id.len(), 9, "{id}");
        assert!(
            id.starts_with('k') && id[1..].bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        assert_eq!(STANDARD.decode(key).unwrap().len(), KEY_LEN);
        let keys = keyring(&spec);
        assert_eq!(keys.current_key_id(), id);
        assert_eq!(keys.decrypt(&keys.encrypt("ok", CONTEXT), CONTEXT).unwrap(), "ok");
        assert_ne!(Keyring::generate_spec(), spec);
    }
}
