//! What every console screen stands on: the signed-in staff member ([`Console`], an
//! extractor that also guards state-changing requests against CSRF), the frame around each
//! page ([`Frame`]: layout data, navigation, language, zone, flash), rendering with the
//! console's headers, and the error pages.

use super::i18n::{self, Lang};
use super::{nav, session, templates};
use crate::extract::Permission;
use crate::state::AppState;
use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use shared::domain::StoreId;
use shared::tenancy::{Action, Auth};
use std::marker::PhantomData;

/// The console's Content-Security-Policy: scripts and styles from this origin only (no inline
/// script or style, no eval), nothing framed, forms and requests to ourselves.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The largest form the console reads.
const FORM_LIMIT: usize = 64 * 1024;

/// A form's fields in order (a name may repeat: the visit's lines).
#[derive(Debug, Default, Clone)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(bytes: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`, in order, blanks included (they keep rows aligned).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// The fields as a map for re-showing the form (the CSRF token left out).
    pub fn values(&self) -> std::collections::BTreeMap<String, String> {
        self.0
            .iter()
            .filter(|(k, _)| k != session::CSRF_FIELD)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The signed-in staff member of a console request, allowed to do `P` (else 403). For a POST
/// the request has also passed the CSRF checks (same origin, the session's token) and its form
/// body has been read into [`Console::form`].
pub struct Console<P> {
    pub auth: Auth,
    pub state: web::Data<AppState>,
    pub form: Form,
    /// The request came from htmx (answer with a fragment).
    pub htmx: bool,
    pub(super) csrf: String,
    pub(super) lang_hint: Lang,
    pub(super) path: String,
    pub(super) flash: Option<String>,
    _p: PhantomData<P>,
}

/// For screens every signed-in staff member may open (Today, the language switch).
pub struct Anyone;
impl Permission for Anyone {
    const ACTION: Action = Action::ViewStores;
}

impl<P: Permission + 'static> FromRequest for Console<P> {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = if req.method() == Method::GET || req.method() == Method::HEAD {
            None
        } else {
            Some(web::Bytes::from_request(&req, payload))
        };
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ConsoleError::Internal("application state missing".into()))?;
            let htmx = req.headers().contains_key("hx-request");
            let path = req.uri().path_and_query().map_or("/app/", |p| p.as_str()).to_owned();
            let secure = session::secure(state.config.public_base_url.as_deref());
            let login_needed = || ConsoleError::LoginNeeded {
                next: if req.method() == Method::GET {
                    path.clone()
                } else {
                    "/app/".into()
                },
                htmx,
                secure,
            };
            let Some(token) = session::token_from_cookie(&req) else {
                return Err(login_needed());
            };
            let csrf = session::csrf_for(&token);
            // The same lookup as the API's bearer tokens.
            let auth = match crate::middleware::session(&state, token).await {
                Ok(auth) => auth,
                Err(shared::Error::Unauthenticated) => return Err(login_needed()),
                Err(other) => return Err(ConsoleError::Model(other)),
            };
            tracing::Span::current().record("tenant_id", tracing::field::display(auth.tenant.id()));
            let mut form = Form::default();
            if let Some(body) = body {
                if !session::from_our_site(&req, state.config.public_base_url.as_deref()) {
                    return Err(ConsoleError::CsrfRefused);
                }
                let bytes = body.await.map_err(|_| ConsoleError::BadForm)?;
                if bytes.len() > FORM_LIMIT {
                    return Err(ConsoleError::BadForm);
                }
                form = Form::parse(&bytes);
                let presented = session::presented_csrf(&req, &form.0).unwrap_or_default();
                if !session::same_token(presented, &csrf) {
                    return Err(ConsoleError::CsrfRefused);
                }
            }
            if !auth.actor.may(P::ACTION) {
                return Err(ConsoleError::Forbidden);
            }
            Ok(Console {
                auth,
                form,
                htmx,
                csrf,
                lang_hint: i18n::from_accept_language(&req),
                path,
                flash: req.cookie(session::FLASH_COOKIE).map(|c| c.value().to_owned()),
                state,
                _p: PhantomData,
            })
        })
    }
}

impl<P> Console<P> {
    pub fn may(&self, action: Action) -> bool {
        self.auth.actor.may(action)
    }

    /// Load the frame (and whatever the screen needs) in one database read.
    pub async fn read<T, F>(&self, store: Option<StoreId>, work: F) -> Result<(Frame, T), ConsoleError>
    where
        T: Send + 'static,
        F: FnOnce(&mut shared::db::AnyConnection, &Auth, &Frame) -> shared::Result<T> + Send + 'static,
    {
        let (auth, seed) = (self.auth, self.seed());
        Ok(self
            .state
            .db
            .read(move |conn| {
                let frame = Frame::load(conn, &auth, seed, store)?;
                let data = work(conn, &auth, &frame)?;
                Ok((frame, data))
            })
            .await?)
    }

    /// Like [`Console::read`], in a write transaction (audited reads, forms).
    pub async fn write<T, F>(&self, store: Option<StoreId>, work: F) -> Result<(Frame, T), ConsoleError>
    where
        T: Send + 'static,
        F: FnOnce(&mut shared::db::AnyConnection, &Auth, &Frame) -> shared::Result<T> + Send + 'static,
    {
        let (auth, seed) = (self.auth, self.seed());
        Ok(self
            .state
            .db
            .write(move |conn| {
                let frame = Frame::load(conn, &auth, seed, store)?;
                let data = work(conn, &auth, &frame)?;
                Ok((frame, data))
            })
            .await?)
    }

    fn seed(&self) -> FrameSeed {
        FrameSeed {
            lang_hint: self.lang_hint,
            path: self.path.clone(),
            csrf: self.csrf.clone(),
            flash: self.flash.clone(),
        }
    }

    /// Render `template` in the frame with the screen's `data` (200).
    pub fn render(&self, frame: &Frame, template: &str, data: impl Serialize) -> HttpResponse {
        self.render_status(StatusCode::OK, frame, template, data)
    }

    pub fn render_status(
        &self,
        status: StatusCode,
        frame: &Frame,
        template: &str,
        data: impl Serialize,
    ) -> HttpResponse {
        let mut response = page_response(status, templates::render(template, frame, &data));
        if frame.flash.is_some() {
            let _ = response.add_cookie(&session::removal(session::FLASH_COOKIE, self.secure()));
        }
        response
    }

    /// 303 to `location` with a flash message (a key of the catalog) for the next page. An htmx
    /// request gets `HX-Redirect` instead, so the whole page changes.
    pub fn redirect(&self, location: &str, flash: Option<&str>) -> HttpResponse {
        let mut response = if self.htmx {
            HttpResponse::Ok().insert_header(("HX-Redirect", location)).finish()
        } else {
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish()
        };
        if let Some(key) = flash {
            let _ = response.add_cookie(&session::flash_cookie(key, self.secure()));
        }
        response
    }

    pub fn secure(&self) -> bool {
        session::secure(self.state.config.public_base_url.as_deref())
    }
}

/// What a frame is made from besides the database.
#[derive(Clone)]
pub(super) struct FrameSeed {
    lang_hint: Lang,
    path: String,
    csrf: String,
    flash: Option<String>,
}

/// A store in the store picker and in the zone table.
#[derive(Debug, Clone, Serialize)]
pub struct StoreOption {
    pub id: String,
    pub name: String,
    pub timezone: String,
}

/// The data of the layout around every screen.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    pub lang: &'static str,
    /// The staff member's own choice (`None`: the browser's), for the language switch.
    pub chosen_lang: Option<&'static str>,
    pub user_name: String,
    pub role: &'static str,
    pub tenant_name: String,
    pub nav: Vec<nav::NavLink>,
    pub csrf: String,
    /// A catalog key (only known keys are ever shown).
    pub flash: Option<String>,
    /// Stores the staff member works with: HQ every store, a store role its own.
    pub stores: Vec<StoreOption>,
    /// HQ may choose a store; store roles work in theirs.
    pub is_hq: bool,
    /// The store whose day and zone the screen shows (`None`: all stores, HQ).
    pub store_id: Option<String>,
    /// IANA zone for dates and times: the store's, else the chain's.
    pub zone: String,
    pub currency: String,
    pub path: String,
    pub assets: Assets,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assets {
    pub css: String,
    pub js: String,
    pub htmx: String,
}

impl Assets {
    pub fn current() -> Assets {
        Assets {
            css: crate::assets::url("console.css"),
            js: crate::assets::url("console.js"),
            htmx: crate::assets::url("htmx.js"),
        }
    }
}

impl Frame {
    fn load(
        conn: &mut shared::db::AnyConnection,
        auth: &Auth,
        seed: FrameSeed,
        wanted_store: Option<StoreId>,
    ) -> shared::Result<Frame> {
        let me = shared::staff::own_profile(conn, auth)?;
        let all = shared::stores::list(
            conn,
            &auth.tenant,
            &shared::pagination::PageRequest {
                limit: 200,
                after: None,
            },
        )?
        .items;
        let is_hq = auth.actor.is_hq();
        let stores: Vec<StoreOption> = all
            .into_iter()
            .filter(|s| is_hq || Some(s.id) == auth.actor.store_id)
            .map(|s| StoreOption {
                id: s.id.to_string(),
                name: s.name,
                timezone: s.timezone,
            })
            .collect();
        let store_id = if is_hq {
            wanted_store
                .map(|s| s.to_string())
                .filter(|id| stores.iter().any(|s| &s.id == id))
        } else {
            auth.actor.store_id.map(|s| s.to_string())
        };
        let zone = store_id
            .as_ref()
            .and_then(|id| stores.iter().find(|s| &s.id == id))
            .map_or(me.tenant_timezone.clone(), |s| s.timezone.clone());
        let lang = me.locale.map(Lang::from).unwrap_or(seed.lang_hint);
        Ok(Frame {
            lang: lang.tag(),
            chosen_lang: me.locale.map(|l| Lang::from(l).tag()),
            user_name: me.name,
            role: auth.actor.role.as_str(),
            tenant_name: me.tenant_name,
            nav: nav::links(&auth.actor, &seed.path),
            csrf: seed.csrf,
            flash: seed.flash.filter(|key| i18n::is_flash(key)),
            stores,
            is_hq,
            store_id,
            zone,
            currency: auth.facts.currency().to_owned(),
            path: seed.path,
            assets: Assets::current(),
        })
    }

    pub fn lang(&self) -> Lang {
        Lang::from_tag(self.lang)
    }

    /// The zone of a store by id (dates of a visit in its own store's zone), else the frame's.
    pub fn zone_of(&self, store: Option<&str>) -> chrono_tz::Tz {
        let name = store
            .and_then(|id| self.stores.iter().find(|s| s.id == id))
            .map_or(self.zone.as_str(), |s| s.timezone.as_str());
        name.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// An HTML response with the console's headers: the strict CSP, no caching, no framing.
pub fn page_response(status: StatusCode, body: Result<String, minijinja::Error>) -> HttpResponse {
    match body {
        Ok(html) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            // Not the service's `no-referrer`: with it, browsers post our forms with
            // `Origin: null`, which the CSRF check refuses. `same-origin` sends the page's URL
            // to this server only, and nothing to another site.
            .insert_header((header::REFERRER_POLICY, "same-origin"))
            .insert_header(("Vary", "Cookie, HX-Request"))
            .body(html),
        Err(error) => {
            tracing::error!(error = %error, detail = %error.display_debug_info(), "console template failed");
            ConsoleError::Internal(error.to_string()).error_response()
        }
    }
}

/// Why a console request could not be served; each answers a page of its own (in Chinese and
/// English: it may come before the staff member's language is known).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("login needed")]
    LoginNeeded { next: String, htmx: bool, secure: bool },
    #[error("forbidden")]
    Forbidden,
    #[error("csrf check failed")]
    CsrfRefused,
    #[error("not found")]
    NotFound,
    #[error("unreadable form")]
    BadForm,
    #[error("model error: {0}")]
    Model(shared::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<shared::Error> for ConsoleError {
    fn from(error: shared::Error) -> Self {
        match error {
            shared::Error::NotFound => ConsoleError::NotFound,
            shared::Error::Forbidden(_) => ConsoleError::Forbidden,
            other => ConsoleError::Model(other),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::LoginNeeded { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden | ConsoleError::CsrfRefused => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::BadForm => StatusCode::BAD_REQUEST,
            ConsoleError::Model(error) => match error {
                shared::Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                shared::Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                shared::Error::Conflict { .. } => StatusCode::CONFLICT,
                shared::Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if let ConsoleError::LoginNeeded { next, htmx, secure } = self {
            let location = login_url(next);
            let mut response = if *htmx {
                HttpResponse::Unauthorized()
                    .insert_header(("HX-Redirect", location))
                    .finish()
            } else {
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish()
            };
            let _ = response.add_cookie(&session::removal(session::SESSION_COOKIE, *secure));
            return response;
        }
        let kind = match self {
            ConsoleError::Forbidden => "forbidden",
            ConsoleError::CsrfRefused => "csrf",
            ConsoleError::NotFound => "not_found",
            ConsoleError::BadForm => "bad_form",
            ConsoleError::Model(shared::Error::Unavailable(_)) => "unavailable",
            ConsoleError::Model(shared::Error::Validation(_) | shared::Error::Conflict { .. }) => "bad_form",
            ConsoleError::Model(error) => {
                tracing::error!(error = %error, "console request failed");
                "internal"
            }
            _ => {
                tracing::error!(error = %self, "console request failed");
                "internal"
            }
        };
        let body = templates::render_bare(
            "error.html",
            &serde_json::json!({ "kind": kind, "status": self.status_code().as_u16(), "assets": Assets::current() }),
        );
        let status = self.status_code();
        match body {
            Ok(html) => page_response(status, Ok(html)),
            Err(_) => HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body("error"),
        }
    }
}

/// The login page, coming back to `next` (a console path only: no open redirect).
pub fn login_url(next: &str) -> String {
    if next.starts_with("/app/") && next != "/app/" && !next.starts_with("//") {
        format!(
            "/app/login?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        )
    } else {
        "/app/login".to_owned()
    }
}

/// A console path to go to after login: only our own `/app/` paths are followed.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with("/app/") && !path.starts_with("//") && !path.contains('\\') => path.to_owned(),
        _ => "/app/".to_owned(),
    }
}
