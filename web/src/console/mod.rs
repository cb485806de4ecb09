//! The staff console (`/app/`): server-rendered HTML for the front desk, beauticians, store
//! managers, HQ and owners, in zh-CN and English, with htmx for live updates.
//!
//! How a screen is made (see also the README's "Console" section):
//! 1. A module here, named after the screen (`clients.rs`), with its routes in a
//!    `routes(cfg)` called from [`routes`] below, and its row in `nav.rs`.
//! 2. Handlers take a [`Console<can::Action>`](frame::Console): the signed-in staff member,
//!    refused with 403 unless their role may do the action (the API's permission table). A
//!    POST through it has already passed the CSRF checks and its form is in `console.form`.
//! 3. They load the frame and their data in one database call (`console.read(store, |conn,
//!    auth, frame| …)`, or `write` for audited reads and changes), calling the same `shared`
//!    functions as the API, and answer `console.render(&frame, "screen.html", data)`, or
//!    `console.redirect(path, Some("flash.key"))` after a change.
//! 4. Templates in `web/templates/console/` extend `layout.html`, use the partials
//!    (`_form_errors.html`, `_table.html`'s `table` and `empty_state`, `_flash.html`), and are
//!    listed in `templates.rs` with a sample context in `samples.rs` (the unit test renders
//!    every template). Every string goes through `t("key")` into `i18n.rs`.

pub mod clients;
pub mod format;
pub mod frame;
pub mod i18n;
pub mod login;
pub mod nav;
pub mod session;
pub mod templates;
pub mod today;
pub mod visits;

#[cfg(test)]
mod samples;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use i18n::Lang;
use serde::Serialize;
use std::collections::BTreeMap;

/// The console's routes, and `/` leading to it.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home)).route("/app", web::get().to(home));
    login::routes(cfg);
    today::routes(cfg);
    clients::routes(cfg);
    visits::routes(cfg);
}

/// `/` and `/app`: the console (Today, which sends a visitor without a session to log in).
async fn home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/app/"))
        .finish()
}

/// One line of a form's error list.
#[derive(Debug, Clone, Serialize)]
pub struct FieldMessage {
    /// The field's name (the input's id is `f-<field>`); empty for the form as a whole.
    pub field: String,
    pub label: String,
    pub message: String,
}

/// A model error as the form shows it: the list at the top and each field's message.
pub fn form_errors(error: &shared::Error, lang: Lang) -> (Vec<FieldMessage>, BTreeMap<String, String>) {
    let mut list = Vec::new();
    let mut by_field = BTreeMap::new();
    match error {
        shared::Error::Validation(errors) => {
            for e in &errors.0 {
                let message = i18n::field_error(e.code, &e.message, lang);
                by_field.entry(e.field.clone()).or_insert_with(|| message.clone());
                list.push(FieldMessage {
                    field: e.field.clone(),
                    label: i18n::field_label(&e.field, lang),
                    message,
                });
            }
        }
        shared::Error::Conflict { code, message, .. } => {
            let field = match *code {
                "email_taken" => "email",
                "duplicate_phone" => "phone",
                _ => "",
            };
            let message = i18n::field_error(code, message, lang);
            if !field.is_empty() {
                by_field.insert(field.to_owned(), message.clone());
            }
            list.push(FieldMessage {
                field: field.to_owned(),
                label: i18n::field_label(field, lang),
                message,
            });
        }
        other => list.push(FieldMessage {
            field: String::new(),
            label: String::new(),
            message: other.to_string(),
        }),
    }
    (list, by_field)
}
