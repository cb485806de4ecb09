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
pub async fn seed(db: &Db, now: chrono::DateTime<chrono::Utc>) -> Result<DemoData> {
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
        db.write(move |conn| shared::staff::create(conn, &owner, new, hash, now))
            .await?;
        logins.push(DemoLogin {
            email: email.into(),
            role,
        });
    }
    Ok(DemoData { password, logins })
}
