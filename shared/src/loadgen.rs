//! Load-test data, written through the same code as imports (lookup keys, aggregates, store
//! links): `web seed-load`. Deterministic for a given seed, so benchmark runs compare.

use crate::clients::{insert_many, new_client_rows, ClientFields, SensitiveInput};
use crate::crypto::Keyring;
use crate::db::AnyConnection;
use crate::domain::{Birthday, Channel, ClientId, Name, PaymentMethod, Phone, StoreId};
use crate::error::{Error, Result};
use crate::search::{client_terms, TermKind};
use crate::tenancy::Tenant;
use crate::visits::{NewVisit, VisitLine};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "丽", "娜", "静", "敏", "燕", "艳", "婷", "雪", "琳", "玲", "霞", "芳", "洁", "倩", "佳", "颖", "欣", "悦", "晨",
    "怡", "梅", "兰", "萍", "红", "秀", "英", "华", "慧", "巧", "美", "思", "雨", "嘉", "可", "心", "宁", "安", "晓",
    "月", "诗",
];

/// One generated client, as the load script queries it.
#[derive(Debug, Clone)]
pub struct SampleClient {
    pub id: ClientId,
    pub name: String,
    /// National digits, e.g. 13700012345.
    pub phone: String,
    pub initials: String,
}

/// Add `clients` clients with `visits_per_client` visits each (spread over the last two
/// years) to one tenant's stores. Returns every client, for the load script's queries.
#[allow(clippy::too_many_arguments)]
pub fn seed_tenant(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    tenant_number: u32,
    stores: &[StoreId],
    clients: u32,
    visits_per_client: u32,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<Vec<SampleClient>> {
    let mut rng = StdRng::seed_from_u64(u64::from(tenant_number));
    let mut rows = Vec::with_capacity(clients as usize);
    let mut samples = Vec::with_capacity(clients as usize);
    let mut visits = Vec::new();
    for n in 0..clients {
        let name = format!(
            "{}{}{}",
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
            GIVEN[rng.gen_range(0..GIVEN.len())],
            if rng.gen_bool(0.6) {
                GIVEN[rng.gen_range(0..GIVEN.len())]
            } else {
                ""
            }
        );
        // 13x mobiles, unique per tenant: 1 3 x + tenant (3 digits) + client (5 digits).
        let national = format!("13{}{:03}{:05}", n % 10, tenant_number % 1000, n % 100_000);
        let phone = Phone::parse(&national, Some("CN")).map_err(|e| Error::Internal(e.message))?;
        let id = ClientId::new();
        let initials = client_terms(&name, Some(&phone))
            .into_iter()
            .filter(|t| t.kind == TermKind::Initials)
            .map(|t| t.term)
            .max_by_key(String::len)
            .unwrap_or_default();
        samples.push(SampleClient {
            id,
            name: name.clone(),
            phone: national,
            initials,
        });
        let store = stores[(n as usize) % stores.len()];
        let fields = ClientFields {
            name: Name::parse(&name).map_err(|e| Error::Internal(e.message))?,
            phone: Some(phone),
            email: None,
            gender: None,
            // Spread over the 365 days of a common year, so that any day has ~1/365 of clients.
            birthday: NaiveDate::from_yo_opt(2025, rng.gen_range(1..=365))
                .and_then(|date| Birthday::parse(&date.format("%m-%d").to_string()).ok()),
            locale: None,
            preferred_channel: Channel::Sms,
            marketing_consent: rng.gen_bool(0.7),
            consent_source: None,
            home_store_id: Some(store),
            consultant_id: None,
            source: None,
            referrer_id: None,
            tags: Vec::new(),
            skin_type: None,
            sensitive: SensitiveInput::default(),
            preferences: None,
            notes: None,
        };
        rows.push(new_client_rows(tenant, id, fields, "load test", keys, now));
        for _ in 0..visits_per_client {
            visits.push(NewVisit {
                client_id: id,
                store_id: store,
                staff_id: None,
                completed_at: now - Duration::minutes(rng.gen_range(60..(2 * 365 * 24 * 60))),
                lines: vec![VisitLine {
                    service_id: None,
                    description: "深层补水护理".into(),
                    amount_cents: rng.gen_range(50..=2000) * 100,
                }],
                discount_cents: 0,
                payment_method: PaymentMethod::WechatPay,
                notes: None,
                source: "import",
            });
        }
    }
    insert_many(conn, rows)?;
    crate::visits::insert_many(conn, tenant, visits, now)?;
    Ok(samples)
}
