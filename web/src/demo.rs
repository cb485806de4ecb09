//! Demo data for trying the product: a chain with two stores and staff in every role.
//! Seeded through the same functions the API uses, into a database of its own.

use rand::distributions::Alphanumeric;
use rand::Rng;
use shared::db::Db;
use shared::domain::{EmailAddress, Name, Password, Role, StoreId, TimeZone};
use shared::staff::NewStaff;
use shared::stores::NewStore;
use shared::tenancy::{self, NewSignup};
use shared::Result;

pub struct DemoLogin {
    pub email: String,
    pub role: Role,
}

pub struct DemoData {
    pub password: String,
    pub logins: Vec<DemoLogin>,
}

fn parse<T>(result: std::result::Result<T, shared::FieldError>) -> Result<T> {
    result.map_err(|e| shared::Error::Internal(format!("demo data is invalid: {}", e.message)))
}

/// Seed a fresh demo tenant; every account gets the same freshly generated password.
pub async fn seed(db: &Db, keys: &shared::clients::Crypto, now: chrono::DateTime<chrono::Utc>) -> Result<DemoData> {
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    let signup = NewSignup::parse(
        "美丽人生美容连锁 (Demo)",
        "张丽",
        "owner@demo.salon-crm.test",
        &password,
        "Asia/Shanghai",
        "zh-CN",
        Some("CN"),
    )?;
    let outcome = tenancy::signup(db, signup, now, chrono::Duration::hours(1)).await?;
    let owner = outcome.auth;

    let stores = [
        ("静安店", "上海市静安区南京西路 1266 号", "021-6288 1266"),
        ("徐汇店", "上海市徐汇区淮海中路 999 号", "021-6437 0999"),
    ];
    let mut store_ids: Vec<StoreId> = Vec::new();
    for (name, address, phone) in stores {
        let new = NewStore {
            name: parse(Name::parse(name))?,
            timezone: Some(parse(TimeZone::parse("Asia/Shanghai"))?),
            address: Some(parse(shared::domain::Text::parse(address, 300))?),
            phone: Some(parse(shared::domain::PhoneText::parse(phone))?),
            quiet_hours: None,
        };
        let store = db
            .write(move |conn| shared::stores::create(conn, &owner.tenant, new, now))
            .await?;
        store_ids.push(store.id);
    }

    let people = [
        ("陈经理", "hq@demo.salon-crm.test", Role::HqManager, None),
        (
            "李店长",
            "manager.jingan@demo.salon-crm.test",
            Role::StoreManager,
            Some(0),
        ),
        (
            "周店长",
            "manager.xuhui@demo.salon-crm.test",
            Role::StoreManager,
            Some(1),
        ),
        (
            "王前台",
            "frontdesk.jingan@demo.salon-crm.test",
            Role::FrontDesk,
            Some(0),
        ),
        (
            "赵美容师",
            "beautician.jingan@demo.salon-crm.test",
            Role::Beautician,
            Some(0),
        ),
        (
            "孙美容师",
            "beautician.xuhui@demo.salon-crm.test",
            Role::Beautician,
            Some(1),
        ),
    ];
    let hash = {
        let password = parse(Password::parse(&password))?;
        tokio::task::spawn_blocking(move || password.hash())
            .await
            .map_err(|e| shared::Error::Internal(e.to_string()))??
    };
    let mut logins = vec![DemoLogin {
        email: "owner@demo.salon-crm.test".into(),
        role: Role::Owner,
    }];
    for (name, email, role, store) in people {
        let new = NewStaff {
            name: parse(Name::parse(name))?,
            email: parse(EmailAddress::parse(email))?,
            phone: None,
            role,
            store_id: store.and_then(|i: usize| store_ids.get(i).copied()),
        };
        let hash = hash.clone();
        let initial = shared::staff::InitialPassword::Demo(hash);
        db.write(move |conn| shared::staff::create(conn, &owner, new, initial, now))
            .await?;
        logins.push(DemoLogin {
            email: email.into(),
            role,
        });
    }
    seed_archive(db, keys, owner, &store_ids, now).await?;
    Ok(DemoData { password, logins })
}

/// A catalog, a few clients and their visits, some recent and some long ago (dormant).
async fn seed_archive(
    db: &Db,
    keys: &shared::clients::Crypto,
    owner: shared::tenancy::Auth,
    stores: &[StoreId],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    use shared::clients::ClientInput;
    use shared::services::NewService;
    use shared::visits::{LineInput, VisitInput};
    let mut service_ids = Vec::new();
    for (name, category, minutes, price) in [
        ("深层补水护理", "面部护理", 60, 39_800),
        ("眼部抗皱护理", "面部护理", 45, 29_800),
        ("肩颈舒缓按摩", "身体护理", 50, 25_800),
    ] {
        let new = NewService {
            name: parse(Name::parse(name))?,
            category: Some(parse(shared::domain::Text::parse(category, 50))?),
            duration_minutes: Some(minutes),
            price_cents: price,
            active: true,
        };
        let service = db
            .write(move |conn| shared::services::create(conn, &owner.tenant, new, now))
            .await?;
        service_ids.push(service.id);
    }
    let clients = [
        (
            "张三丰",
            "13712345678",
            "03-08",
            true,
            Some("果酸过敏"),
            0,
            &[5_i64, 40, 75][..],
        ),
        ("李小龙", "13912345670", "11-27", true, None, 0, &[3, 33][..]),
        (
            "王美丽",
            "13612345671",
            "1992-02-29",
            true,
            None,
            1,
            &[95, 130, 170][..],
        ),
        ("赵雅芝", "13812345672", "07-15", false, None, 1, &[20][..]),
        (
            "陈晓",
            "13512345673",
            "12-01",
            true,
            Some("对花粉敏感"),
            0,
            &[200, 260][..],
        ),
        (
            "Alice Wong",
            "+85291234567",
            "05-20",
            true,
            None,
            1,
            &[12, 50, 80, 110][..],
        ),
    ];
    for (name, phone, birthday, consent, allergies, store, days_ago) in clients {
        let input = ClientInput {
            name: name.into(),
            phone: Some(phone.into()),
            birthday: Some(birthday.into()),
            marketing_consent: Some(consent),
            consent_source: Some("demo: paper form".into()),
            home_store_id: stores.get(store).map(|s| s.to_string()),
            allergies: allergies.map(str::to_owned),
            tags: Some(vec!["demo".into()]),
            ..ClientInput::default()
        };
        let keys = keys.clone();
        let client = db
            .write(move |conn| shared::clients::create(conn, &owner, input, &keys, now))
            .await?;
        for (n, days) in days_ago.iter().enumerate() {
            let visit = VisitInput {
                client_id: client.id.to_string(),
                store_id: stores.get(store).map(|s| s.to_string()),
                staff_id: None,
                completed_at: (now - chrono::Duration::days(*days)).to_rfc3339(),
                lines: vec![LineInput {
                    service_id: service_ids.get(n % service_ids.len()).map(|s| s.to_string()),
                    description: None,
                    amount_cents: None,
                }],
                discount_cents: None,
                payment_method: shared::domain::PaymentMethod::WechatPay,
                notes: None,
            };
            db.write(move |conn| shared::visits::create(conn, &owner, visit, now))
                .await?;
        }
    }
    Ok(())
}

/// `web seed-load`: see the command's help.
pub async fn seed_load(
    config: &shared::config::Config,
    tenants: u32,
    clients: u32,
    visits: u32,
    fixtures: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write;
    let url = config.database_url.clone();
    let pool = config.db_pool_size;
    let db = tokio::task::spawn_blocking(move || Db::connect(&url, pool)).await??;
    let keys = std::sync::Arc::new(config.keyring()?);
    let now = chrono::Utc::now();
    let per_tenant = (clients / tenants.max(1)).max(1);
    let visits_per_client = visits / clients.max(1);
    if let Some(dir) = fixtures.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(fixtures)?);
    let started = std::time::Instant::now();
    for t in 0..tenants {
        let signup = NewSignup::parse(
            &format!("压测连锁 {t}"),
            "压测店主",
            &format!("load-{t}-{}@bench.salon-crm.test", now.timestamp()),
            "load test password",
            "Asia/Shanghai",
            "zh-CN",
            Some("CN"),
        )?;
        let outcome = tenancy::signup(&db, signup, now, chrono::Duration::days(7)).await?;
        let owner = outcome.auth;
        let token = outcome.token.into_inner();
        let mut stores = Vec::new();
        for name in ["一店", "二店"] {
            let new = NewStore {
                name: parse(Name::parse(name))?,
                timezone: None,
                address: None,
                phone: None,
                quiet_hours: None,
            };
            stores.push(
                db.write(move |conn| shared::stores::create(conn, &owner.tenant, new, now))
                    .await?
                    .id,
            );
        }
        let keys = keys.clone();
        let seeded_stores = stores.clone();
        let samples = db
            .write(move |conn| {
                shared::loadgen::seed_tenant(
                    conn,
                    &owner.tenant,
                    t,
                    &seeded_stores,
                    per_tenant,
                    visits_per_client,
                    &keys,
                    now,
                )
            })
            .await?;
        for client in samples.iter().step_by((samples.len() / 50).max(1)) {
            let given: String = client.name.chars().skip(1).collect();
            writeln!(out, "phone\t{token}\t{}", &client.phone[..7])?;
            writeln!(out, "name\t{token}\t{given}")?;
            writeln!(out, "pinyin\t{token}\t{}", client.initials)?;
            writeln!(out, "visit\t{token}\t{}\t{}", client.id, stores[0])?;
        }
        if t % 10 == 9 || t + 1 == tenants {
            println!("seeded {} tenants in {:.0?}", t + 1, started.elapsed());
        }
    }
    out.flush()?;
    println!(
        "{tenants} tenants, {} clients, {} visits; fixtures in {}",
        per_tenant * tenants,
        per_tenant * tenants * visits_per_client,
        fixtures.display()
    );
    Ok(())
}
