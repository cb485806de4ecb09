//! Clients: the front desk's search as you type, the client's page, new and edit.
//!
//! - `GET /app/clients?q=` searches like `GET /api/v1/clients?q=` (name, pinyin initials, phone
//!   prefix, last four digits); as a plain GET form it works without JavaScript, and htmx asks
//!   for the results alone (`HX-Request` with target `results`) as the staff member types.
//!   Without `q`: the first clients by name.
//! - `GET /app/clients/{id}`: profile, tags, consent with its time and source, aggregates and
//!   the timeline. Sensitive fields are hidden; roles that may see them get a "show" button
//!   (`POST /app/clients/{id}/sensitive`, written to the audit log); others get no button.
//! - `GET /app/clients/new`, `POST /app/clients`; `GET /app/clients/{id}/edit`,
//!   `POST /app/clients/{id}` with the version read (a change made meanwhile: 409 and the form
//!   again with a friendly message, the staff member's input kept).

use super::frame::{Console, ConsoleError, Frame};
use super::i18n::Lang;
use super::{form_errors, format, FieldMessage};
use crate::extract::can;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::clients::{self, Client, ClientInput, ClientPatchInput, ClientSort, ListFilter, SensitiveFields};
use shared::domain::{ClientId, Gender};
use shared::pagination::PageRequest;
use shared::tenancy::Action;
use std::collections::BTreeMap;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/app/clients")
            .route(web::get().to(search))
            .route(web::post().to(create)),
    )
    .service(web::resource("/app/clients/new").route(web::get().to(new_form)))
    .service(
        web::resource("/app/clients/{id}")
            .route(web::get().to(show))
            .route(web::post().to(update)),
    )
    .service(web::resource("/app/clients/{id}/edit").route(web::get().to(edit_form)))
    .service(web::resource("/app/clients/{id}/sensitive").route(web::post().to(reveal)));
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    pub q: Option<String>,
}

/// A client in the results list.
#[derive(Serialize)]
pub(super) struct ResultRow {
    pub href: String,
    pub initial: String,
    pub name: String,
    pub phone: Option<String>,
    pub store_name: Option<String>,
    pub visit_count: i32,
    pub last_visit_at: Option<String>,
}

#[derive(Serialize)]
pub(super) struct SearchPage {
    pub q: String,
    pub results: Vec<ResultRow>,
    pub may_create: bool,
    pub pick_for_visit: bool,
    pub search_action: &'static str,
}

fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}

/// How many results a search shows.
const RESULTS: usize = 12;

/// The search page of `/app/clients`, and of `/app/visits/new` before a client is picked
/// (`pick_for_visit`: each result leads to the visit form).
pub(super) async fn search_page<P>(
    console: &Console<P>,
    q: String,
    pick_for_visit: bool,
) -> Result<HttpResponse, ConsoleError> {
    let query = q.clone();
    let (frame, found) = console
        .read(None, move |conn, auth, _| {
            if query.trim().is_empty() {
                let page = PageRequest {
                    limit: RESULTS as i64,
                    after: None,
                };
                Ok(clients::list(conn, auth, &ListFilter::default(), ClientSort::Name, &page)?.items)
            } else {
                clients::lookup(conn, auth, &query, RESULTS)
            }
        })
        .await?;
    let results = found
        .into_iter()
        .map(|c| ResultRow {
            href: if pick_for_visit {
                format!("/app/visits/new?client_id={}", c.id)
            } else {
                format!("/app/clients/{}", c.id)
            },
            initial: initial(&c.name),
            store_name: store_name(&frame, c.home_store_id.map(|s| s.to_string()).as_deref()),
            name: c.name,
            phone: c.phone,
            visit_count: c.visit_count,
            last_visit_at: c.last_visit_at.map(|at| at.to_rfc3339()),
        })
        .collect();
    let page = SearchPage {
        q,
        results,
        may_create: console.may(Action::ManageClients),
        pick_for_visit,
        search_action: if pick_for_visit {
            "/app/visits/new"
        } else {
            "/app/clients"
        },
    };
    // htmx asks for the results only, as the staff member types.
    let template = if console.htmx {
        "_client_results.html"
    } else {
        "clients.html"
    };
    Ok(console.render(&frame, template, page))
}

fn store_name(frame: &Frame, id: Option<&str>) -> Option<String> {
    let id = id?;
    frame.stores.iter().find(|s| s.id == id).map(|s| s.name.clone())
}

async fn search(
    console: Console<can::ViewClients>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.into_inner();
    search_page(&console, query.q.unwrap_or_default(), false).await
}

/// One line of the client's timeline.
#[derive(Serialize)]
struct TimelineRow {
    at: String,
    kind: String,
    badge: &'static str,
    title: String,
    detail: Option<String>,
    store_id: Option<String>,
    store_name: Option<String>,
    voided: bool,
}

#[derive(Serialize)]
struct ProfileFact {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct ClientPage {
    client: Client,
    initial: String,
    home_store: Option<String>,
    profile: Vec<ProfileFact>,
    timeline: Vec<TimelineRow>,
    may_reveal: bool,
    sensitive: Option<SensitiveFields>,
    may_record: bool,
    may_edit: bool,
}

fn client_id(raw: &str) -> Result<ClientId, ConsoleError> {
    ClientId::parse(raw).map_err(|_| ConsoleError::NotFound)
}

async fn show(console: Console<can::ViewClients>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = client_id(&id)?;
    let (frame, page) = console
        .read(None, move |conn, auth, _| {
            let (client, may_reveal) = clients::profile(conn, auth, id)?;
            let timeline = clients::timeline(conn, auth, id)?;
            Ok((client, may_reveal, timeline))
        })
        .await?;
    let (client, may_reveal, timeline) = page;
    let page = client_page(&console, &frame, client, may_reveal, timeline, None);
    Ok(console.render(&frame, "client.html", page))
}

/// Show the sensitive fields (audited): the section alone for htmx, else the whole page.
async fn reveal(console: Console<can::ViewClients>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = client_id(&id)?;
    let keys = console.state.keys.clone();
    let now = console.state.now();
    let (frame, (client, may_reveal, timeline, sensitive)) = console
        .write(None, move |conn, auth, _| {
            let sensitive = clients::reveal_sensitive(conn, auth, id, &keys, now, "console")?;
            let (client, may_reveal) = clients::profile(conn, auth, id)?;
            let timeline = clients::timeline(conn, auth, id)?;
            Ok((client, may_reveal, timeline, sensitive))
        })
        .await?;
    let page = client_page(&console, &frame, client, may_reveal, timeline, Some(sensitive));
    let template = if console.htmx { "_sensitive.html" } else { "client.html" };
    Ok(console.render(&frame, template, page))
}

fn client_page<P>(
    console: &Console<P>,
    frame: &Frame,
    client: Client,
    may_reveal: bool,
    timeline: Vec<clients::TimelineEntry>,
    sensitive: Option<SensitiveFields>,
) -> ClientPage {
    let lang = frame.lang();
    let home_store = store_name(frame, client.home_store_id.map(|s| s.to_string()).as_deref());
    let mut profile = Vec::new();
    let mut fact = |name: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            profile.push(ProfileFact { name, value });
        }
    };
    fact("phone", client.phone.clone());
    fact("email", client.email.clone());
    fact("birthday", client.birthday.clone());
    fact(
        "gender",
        client
            .gender
            .and_then(|g| super::i18n::text(&format!("gender.{}", g.as_str()), lang))
            .map(str::to_owned),
    );
    fact("home_store_id", home_store.clone());
    fact("source", client.source.clone());
    fact("skin_type", client.skin_type.clone());
    fact("preferences", client.preferences.clone());
    fact("notes", client.notes.clone());
    let mut rows: Vec<TimelineRow> = timeline.into_iter().map(|e| timeline_row(frame, e, lang)).collect();
    rows.reverse();
    ClientPage {
        initial: initial(&client.name),
        home_store,
        profile,
        timeline: rows,
        may_reveal: may_reveal && !client.erased,
        sensitive,
        may_record: console.may(Action::RecordVisits) && !client.erased,
        may_edit: console.may(Action::ManageClients) && !client.erased,
        client,
    }
}

fn timeline_row(frame: &Frame, entry: clients::TimelineEntry, lang: Lang) -> TimelineRow {
    let detail = &entry.detail;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let store_id = text(&detail["store_id"]);
    let store_name = store_name(frame, store_id.as_deref());
    match entry.kind.as_str() {
        "visit" => {
            let lines: Vec<String> = detail["lines"]
                .as_array()
                .map(|lines| lines.iter().filter_map(|l| text(&l["description"])).collect())
                .unwrap_or_default();
            let total = detail["total_cents"].as_i64().unwrap_or(0);
            let method = text(&detail["payment_method"]).unwrap_or_default();
            let paid = super::i18n::text(&format!("payment.{method}"), lang).unwrap_or(method.as_str());
            let voided = text(&detail["status"]).as_deref() == Some("voided");
            TimelineRow {
                at: entry.at.to_rfc3339(),
                kind: entry.kind,
                badge: if voided { "" } else { "green" },
                title: format!("{} · {}", lines.join("、"), format::money(total, &frame.currency)),
                detail: Some(paid.to_owned()),
                store_id,
                store_name,
                voided,
            }
        }
        _ => {
            // "Survey · SMS", then its status (or why it was not sent), in the page's language.
            let word = |group: &str, value: Option<String>| {
                value.and_then(|v| super::i18n::text(&format!("{group}.{v}"), lang).map(str::to_owned))
            };
            let kind = word("message.kind", text(&detail["kind"]));
            let channel = word("channel", text(&detail["channel"]));
            let status = word("message.reason", text(&detail["suppression_reason"]))
                .or_else(|| word("message.status", text(&detail["status"])));
            TimelineRow {
                at: entry.at.to_rfc3339(),
                kind: "message".to_owned(),
                badge: "blue",
                title: match (kind, channel) {
                    (Some(kind), Some(channel)) => format!("{kind} · {channel}"),
                    _ => entry.summary,
                },
                detail: status,
                store_id,
                store_name,
                voided: false,
            }
        }
    }
}

/// A field of the client form.
#[derive(Serialize, Clone)]
struct FormField {
    name: &'static str,
    /// text, tel, email, select, textarea, checkbox
    kind: &'static str,
    required: bool,
    wide: bool,
    hint: Option<&'static str>,
    placeholder: Option<&'static str>,
    options: Vec<SelectOption>,
}

#[derive(Serialize, Clone)]
struct SelectOption {
    value: String,
    label: String,
    label_key: Option<&'static str>,
}

fn field(name: &'static str, kind: &'static str) -> FormField {
    FormField {
        name,
        kind,
        required: false,
        wide: matches!(kind, "textarea" | "checkbox"),
        hint: None,
        placeholder: None,
        options: Vec::new(),
    }
}

fn option_key(value: &str, key: &'static str) -> SelectOption {
    SelectOption {
        value: value.to_owned(),
        label: String::new(),
        label_key: Some(key),
    }
}

fn form_fields(frame: &Frame, with_sensitive: bool) -> Vec<FormField> {
    let mut stores = vec![option_key("", "option.whole_chain")];
    stores.extend(frame.stores.iter().map(|s| SelectOption {
        value: s.id.clone(),
        label: s.name.clone(),
        label_key: None,
    }));
    let mut fields = vec![
        FormField {
            required: true,
            ..field("name", "text")
        },
        FormField {
            placeholder: Some("13712345678"),
            ..field("phone", "tel")
        },
        field("email", "email"),
        FormField {
            hint: Some("hint.birthday"),
            placeholder: Some("03-08"),
            ..field("birthday", "text")
        },
        FormField {
            options: vec![
                option_key("", "option.none"),
                option_key("female", "gender.female"),
                option_key("male", "gender.male"),
                option_key("other", "gender.other"),
            ],
            ..field("gender", "select")
        },
        FormField {
            options: stores,
            ..field("home_store_id", "select")
        },
        FormField {
            hint: Some("hint.tags"),
            ..field("tags", "text")
        },
        field("source", "text"),
        field("skin_type", "text"),
        field("marketing_consent", "checkbox"),
        field("consent_source", "text"),
        field("preferences", "textarea"),
        field("notes", "textarea"),
    ];
    if with_sensitive {
        fields.extend([
            field("allergies", "textarea"),
            field("medical_notes", "textarea"),
            field("skin_history", "textarea"),
        ]);
    }
    fields
}

#[derive(Serialize)]
struct FormPage {
    client_id: Option<String>,
    version: i32,
    fields: Vec<FormField>,
    values: BTreeMap<String, String>,
    errors: Vec<FieldMessage>,
    field_errors: BTreeMap<String, String>,
    conflict: bool,
}

async fn new_form(console: Console<can::ManageClients>) -> Result<HttpResponse, ConsoleError> {
    let (frame, ()) = console.read(None, |_, _, _| Ok(())).await?;
    let mut values = BTreeMap::new();
    if let Some(store) = &frame.store_id {
        values.insert("home_store_id".to_owned(), store.clone());
    }
    let page = FormPage {
        client_id: None,
        version: 0,
        fields: form_fields(&frame, console.may(Action::ViewSensitive)),
        values,
        errors: Vec::new(),
        field_errors: BTreeMap::new(),
        conflict: false,
    };
    Ok(console.render(&frame, "client_form.html", page))
}

fn optional(form: &super::frame::Form, name: &str) -> Option<String> {
    form.get(name).map(str::to_owned)
}

fn tags(form: &super::frame::Form) -> Vec<String> {
    form.get("tags")
        .unwrap_or_default()
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn gender(form: &super::frame::Form) -> Option<Gender> {
    form.get("gender").and_then(|g| Gender::parse(g).ok())
}

async fn create(console: Console<can::ManageClients>) -> Result<HttpResponse, ConsoleError> {
    let form = &console.form;
    let with_sensitive = console.may(Action::ViewSensitive);
    let input = ClientInput {
        name: form.get("name").unwrap_or_default().to_owned(),
        phone: optional(form, "phone"),
        email: optional(form, "email"),
        gender: gender(form),
        birthday: optional(form, "birthday"),
        marketing_consent: Some(form.get("marketing_consent") == Some("true")),
        consent_source: optional(form, "consent_source"),
        home_store_id: optional(form, "home_store_id"),
        source: optional(form, "source"),
        tags: Some(tags(form)),
        skin_type: optional(form, "skin_type"),
        preferences: optional(form, "preferences"),
        notes: optional(form, "notes"),
        allergies: optional(form, "allergies").filter(|_| with_sensitive),
        medical_notes: optional(form, "medical_notes").filter(|_| with_sensitive),
        skin_history: optional(form, "skin_history").filter(|_| with_sensitive),
        ..ClientInput::default()
    };
    let keys = console.state.keys.clone();
    let now = console.state.now();
    let outcome = console
        .write(None, move |conn, auth, _| {
            match clients::create(conn, auth, input, &keys, now) {
                Ok(client) => Ok(Ok(client.id)),
                Err(error @ (shared::Error::Validation(_) | shared::Error::Conflict { .. })) => Ok(Err(error)),
                Err(other) => Err(other),
            }
        })
        .await?;
    match outcome {
        (_, Ok(id)) => Ok(console.redirect(&format!("/app/clients/{id}"), Some("flash.client_created"))),
        (frame, Err(error)) => {
            let (errors, field_errors) = form_errors(&error, frame.lang());
            let page = FormPage {
                client_id: None,
                version: 0,
                fields: form_fields(&frame, with_sensitive),
                values: console.form.values(),
                errors,
                field_errors,
                conflict: false,
            };
            Ok(console.render_status(StatusCode::UNPROCESSABLE_ENTITY, &frame, "client_form.html", page))
        }
    }
}

fn values_of(client: &Client) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        values.insert(name.to_owned(), value.unwrap_or_default());
    };
    put("name", Some(client.name.clone()));
    put("phone", client.phone.clone());
    put("email", client.email.clone());
    put("birthday", client.birthday.clone());
    put("gender", client.gender.map(|g| g.as_str().to_owned()));
    put("home_store_id", client.home_store_id.map(|s| s.to_string()));
    put("tags", Some(client.tags.join(", ")));
    put("source", client.source.clone());
    put("skin_type", client.skin_type.clone());
    put("marketing_consent", Some(client.marketing_consent.to_string()));
    put("consent_source", client.consent_source.clone());
    put("preferences", client.preferences.clone());
    put("notes", client.notes.clone());
    values
}

async fn edit_form(console: Console<can::ManageClients>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = client_id(&id)?;
    let (frame, (client, _)) = console
        .read(None, move |conn, auth, _| clients::profile(conn, auth, id))
        .await?;
    if client.erased {
        return Err(ConsoleError::NotFound);
    }
    let page = FormPage {
        client_id: Some(client.id.to_string()),
        version: client.version,
        fields: form_fields(&frame, false),
        values: values_of(&client),
        errors: Vec::new(),
        field_errors: BTreeMap::new(),
        conflict: false,
    };
    Ok(console.render(&frame, "client_form.html", page))
}

async fn update(console: Console<can::ManageClients>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = client_id(&id)?;
    let form = &console.form;
    let clear = |name: &str| Some(optional(form, name));
    let patch = ClientPatchInput {
        name: Some(form.get("name").unwrap_or_default().to_owned()),
        phone: clear("phone"),
        email: clear("email"),
        gender: Some(gender(form)),
        birthday: clear("birthday"),
        marketing_consent: Some(form.get("marketing_consent") == Some("true")),
        consent_source: optional(form, "consent_source"),
        home_store_id: clear("home_store_id"),
        source: clear("source"),
        tags: Some(tags(form)),
        skin_type: clear("skin_type"),
        preferences: clear("preferences"),
        notes: clear("notes"),
        ..ClientPatchInput::default()
    };
    // The version the form was read at; a missing one can never match (a stale form).
    let version = form.get("version").and_then(|v| v.parse::<i32>().ok()).unwrap_or(-1);
    let keys = console.state.keys.clone();
    let now = console.state.now();
    let outcome = console
        .write(None, move |conn, auth, _| {
            match clients::update(conn, auth, id, patch, Some(version), &keys, now) {
                Ok(_) => Ok(Ok(())),
                Err(shared::Error::PreconditionFailed) => {
                    // Someone saved meanwhile: the form again, at the record's new version.
                    let (client, _) = clients::profile(conn, auth, id)?;
                    Ok(Err((None, client.version)))
                }
                Err(error @ (shared::Error::Validation(_) | shared::Error::Conflict { .. })) => {
                    Ok(Err((Some(error), version)))
                }
                Err(other) => Err(other),
            }
        })
        .await?;
    match outcome {
        (_, Ok(())) => Ok(console.redirect(&format!("/app/clients/{id}"), Some("flash.client_saved"))),
        (frame, Err((error, version))) => {
            let conflict = error.is_none();
            let (errors, field_errors) = error.map(|e| form_errors(&e, frame.lang())).unwrap_or_default();
            let page = FormPage {
                client_id: Some(id.to_string()),
                version,
                fields: form_fields(&frame, false),
                values: console.form.values(),
                errors,
                field_errors,
                conflict,
            };
            let status = if conflict {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(console.render_status(status, &frame, "client_form.html", page))
        }
    }
}
