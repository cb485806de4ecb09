//! Sample data for every console template, so that the unit test in `templates.rs` renders
//! each one (a template added without a sample fails that test).

use super::frame::{Assets, Frame, StoreOption};
use super::i18n::Lang;
use super::templates;
use serde_json::{json, Value};

pub fn frame(lang: Lang) -> Frame {
    Frame {
        lang: lang.tag(),
        chosen_lang: None,
        user_name: "王前台".into(),
        role: "front_desk",
        tenant_name: "美丽人生美容连锁".into(),
        nav: super::nav::links(
            &shared::tenancy::Actor {
                staff_id: shared::domain::StaffId::new(),
                role: shared::domain::Role::Owner,
                store_id: None,
            },
            "/app/clients",
        ),
        csrf: "0123456789abcdef0123456789abcdef".into(),
        flash: Some("flash.visit_recorded".into()),
        stores: vec![StoreOption {
            id: "019a0000-0000-7000-8000-000000000001".into(),
            name: "静安店".into(),
            timezone: "Asia/Shanghai".into(),
        }],
        is_hq: true,
        store_id: None,
        zone: "Asia/Shanghai".into(),
        currency: "CNY".into(),
        path: "/app/clients".into(),
        assets: Assets::current(),
    }
}

const STORE: &str = "019a0000-0000-7000-8000-000000000001";
const CLIENT: &str = "019a0000-0000-7000-8000-0000000000c1";

fn client() -> Value {
    json!({
        "id": CLIENT, "name": "张三丰", "phone": "+8613712345678", "email": null, "gender": "male",
        "birthday": "03-08", "locale": null, "preferred_channel": "sms", "marketing_consent": true,
        "consent_changed_at": "2026-11-01T02:00:00Z", "consent_source": "paper form",
        "home_store_id": STORE, "consultant_id": null, "source": "walk-in", "referrer_id": null,
        "tags": ["VIP", "敏感肌"], "skin_type": "dry", "preferences": null, "notes": null,
        "visit_count": 3, "first_visit_at": "2026-09-01T02:00:00Z", "last_visit_at": "2026-11-27T06:00:00Z",
        "total_spent_cents": 128_800, "currency": "CNY", "erased": false, "version": 4,
        "created_at": "2026-09-01T02:00:00Z", "updated_at": "2026-11-27T06:00:00Z",
    })
}

fn form_errors() -> Value {
    json!([{ "field": "phone", "label": "手机号", "message": "手机号码格式不正确" }])
}

fn data(name: &str) -> Value {
    let results = json!([{
        "href": format!("/app/clients/{CLIENT}"), "initial": "张", "name": "张三丰", "phone": "+8613712345678",
        "store_name": "静安店", "visit_count": 3, "last_visit_at": "2026-11-27T06:00:00Z",
    }]);
    match name {
        "layout.html" | "_flash.html" => json!({}),
        "bare.html" => json!({ "lang": "zh-CN", "assets": Assets::current() }),
        "_form_errors.html" => json!({ "errors": form_errors() }),
        "_table.html" => json!({}),
        "error.html" => json!({ "kind": "forbidden", "status": 403, "assets": Assets::current() }),
        "login.html" => json!({
            "lang": "zh-CN", "assets": Assets::current(), "form_token": "t", "next": "/app/clients",
            "email": "a@example.com", "failed": "login.failed", "flash": "flash.logged_out",
        }),
        "signup.html" => json!({
            "lang": "en", "assets": Assets::current(), "form_token": "t",
            "fields": [{ "name": "tenant_name", "type": "text", "autocomplete": "organization" },
                       { "name": "timezone", "type": "select", "autocomplete": "off" },
                       { "name": "locale", "type": "select", "autocomplete": "off" }],
            "zones_offered": ["Asia/Shanghai"], "values": { "timezone": "Asia/Shanghai", "locale": "en" },
            "errors": form_errors(), "field_errors": { "tenant_name": "required" },
        }),
        "today.html" => json!({
            "date_text": "2026年12月2日", "store_name": null, "visits": 12, "revenue_cents": 1_288_000,
            "complaints": [{ "id": "c", "client_name": "李小龙", "summary": "等待太久", "step": "callback", "overdue": true, "left": "20 min" }],
            "complaints_open": 1, "complaints_overdue": true,
            "low_scores": [{ "client_id": CLIENT, "client_name": "张三丰", "store_id": STORE, "overall": "2.75", "comment": "皮肤发红", "answered_at": "2026-12-02T03:00:00Z" }],
            "birthdays": [{ "id": CLIENT, "name": "张三丰", "phone": "+8613712345678" }],
            "messages_failed": 2, "wake_ups_due": 5,
            "checklist": [{ "key": "add_store", "done": true, "href": null }, { "key": "invite_staff", "done": false, "href": "/app/staff" }],
        }),
        "clients.html" | "_client_results.html" => json!({
            "q": "zsf", "results": results, "may_create": true, "pick_for_visit": false, "search_action": "/app/clients",
        }),
        "client.html" | "_sensitive.html" => json!({
            "client": client(), "initial": "张", "home_store": "静安店",
            "profile": [{ "name": "phone", "value": "+8613712345678" }],
            "timeline": [{ "at": "2026-11-27T06:00:00Z", "kind": "visit", "badge": "green", "title": "深层补水护理 · ¥398.00",
                           "detail": "微信支付", "store_id": STORE, "store_name": "静安店", "voided": false }],
            "may_reveal": true, "sensitive": { "allergies": "果酸过敏", "medical_notes": null, "skin_history": null },
            "may_record": true, "may_edit": true,
        }),
        "client_form.html" => json!({
            "client_id": CLIENT, "version": 4,
            "fields": [
                { "name": "name", "kind": "text", "required": true, "wide": false, "hint": null, "placeholder": null, "options": [] },
                { "name": "gender", "kind": "select", "required": false, "wide": false, "hint": null, "placeholder": null,
                  "options": [{ "value": "", "label": "", "label_key": "option.none" }, { "value": STORE, "label": "静安店", "label_key": null }] },
                { "name": "notes", "kind": "textarea", "required": false, "wide": true, "hint": "hint.tags", "placeholder": null, "options": [] },
                { "name": "marketing_consent", "kind": "checkbox", "required": false, "wide": true, "hint": null, "placeholder": null, "options": [] },
            ],
            "values": { "name": "张三丰", "marketing_consent": "true" },
            "errors": form_errors(), "field_errors": { "name": "必填" }, "conflict": true,
        }),
        "visit_new.html" => json!({
            "client": client(), "idempotency_key": "k",
            "lines": [{ "service_id": "s", "description": "", "amount": "398", "error": "invalid" }],
            "services": [{ "id": "s", "name": "深层补水护理", "price_cents": 39_800 }],
            "staff": [{ "id": "st", "name": "赵美容师", "price_cents": 0 }],
            "payment_methods": ["cash", "wechat_pay"],
            "values": { "completed_at": "2026-12-02T14:05", "payment_method": "wechat_pay", "store_id": STORE },
            "errors": form_errors(), "field_errors": { "completed_at": "不能晚于当前时间" },
        }),
        other => panic!("no sample data for the template {other}: add it in console/samples.rs"),
    }
}

/// Render `name` with its sample data in `lang`.
pub fn render(name: &str, lang: Lang) -> Result<String, minijinja::Error> {
    render_with(name, lang, data(name))
}

/// Render `name` as a fresh form shows it: no values typed, no errors.
pub fn render_empty_form(name: &str, lang: Lang) -> Result<String, minijinja::Error> {
    let mut data = data(name);
    for key in ["values", "field_errors"] {
        if data.get(key).is_some() {
            data[key] = json!({});
        }
    }
    if data.get("errors").is_some() {
        data["errors"] = json!([]);
    }
    render_with(name, lang, data)
}

fn render_with(name: &str, lang: Lang, mut data: Value) -> Result<String, minijinja::Error> {
    if data.get("lang").is_some() {
        data["lang"] = json!(lang.tag());
    }
    if data.get("assets").is_some() || name == "error.html" {
        templates::render_bare(name, &data)
    } else {
        templates::render(name, &frame(lang), &data)
    }
}
