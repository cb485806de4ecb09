//! Key rotation for sensitive fields: an operator's task across all tenants (`web
//! rotate-keys`), so it walks the table itself instead of going through a tenant scope.

use super::model::crypto_context;
use crate::crypto::Keyring;
use crate::db::schema::clients;
use crate::db::{write_transaction, Db};
use crate::error::{Error, Result};
use diesel::prelude::*;

/// Re-encrypt, under the current key, every value encrypted under an older one; a batch per
/// transaction, so a long rotation holds no lock for long and can be resumed. Each row is
/// written only if its sealed value is still the one read (staff may be editing meanwhile).
/// Returns how many values were re-encrypted.
pub async fn rotate_keys(db: &Db, keys: std::sync::Arc<Keyring>) -> Result<usize> {
    let mut after = (String::new(), String::new());
    let mut rotated = 0;
    loop {
        let keys = keys.clone();
        let from = after.clone();
        let (done, last) = db
            .read(move |conn| {
                write_transaction(conn, |conn| {
                    let rows: Vec<(String, String, Option<String>)> = clients::table
                        .filter(clients::sensitive_enc.is_not_null())
                        .filter(
                            clients::tenant_id.gt(from.0.clone()).or(clients::tenant_id
                                .eq(from.0.clone())
                                .and(clients::id.gt(from.1.clone()))),
                        )
                        .order((clients::tenant_id.asc(), clients::id.asc()))
                        .select((clients::tenant_id, clients::id, clients::sensitive_enc))
                        .limit(500)
                        .load(conn)?;
                    let last = rows.last().map(|(t, i, _)| (t.clone(), i.clone()));
                    let mut count = 0;
                    for (tenant_id, id, stored) in rows {
                        let Some(stored) = stored.filter(|s| keys.needs_rotation(s)) else {
                            continue;
                        };
                        let context = crypto_context(&tenant_id, &id);
                        let plain = keys
                            .decrypt(&stored, &context)
                            .map_err(|e| Error::Internal(format!("client {id}: {e}")))?;
                        // Compare-and-swap on the sealed value: an edit saved since the read
                        // (already under the current key) is kept, not overwritten with the
                        // old text; a later run finds anything still left to rotate.
                        count += diesel::update(clients::table)
                            .filter(clients::tenant_id.eq(&tenant_id))
                            .filter(clients::id.eq(&id))
                            .filter(clients::sensitive_enc.eq(&stored))
                            .set(clients::sensitive_enc.eq(keys.encrypt(&plain, &context)))
                            .execute(conn)?;
                    }
                    Ok((count, last))
                })
            })
            .await?;
        rotated += done;
        match last {
            Some(last) => after = last,
            None => return Ok(rotated),
        }
    }
}
