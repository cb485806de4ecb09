//! Build the HTTP server from configuration: bind (port 0 picks a free port, which tests
//! use), report the address, serve until stopped.

use crate::metrics::Metrics;
use crate::state::AppState;
use crate::{api, assets, console, middleware, pages, problem};
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use shared::clock::SharedClock;
use shared::config::Config;
use shared::db::Db;
use std::net::TcpListener;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

/// The largest request body the JSON API reads; anything bigger is refused with 413.
pub const MAX_JSON_BODY: usize = 256 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    pub state: AppState,
}

/// The OpenAPI document of every route in [`api::routes`], with the problem responses each
/// operation can give ([`crate::openapi::complete`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(crate::openapi::ApiDoc::openapi())
        .configure(api::routes)
        .split_for_parts();
    crate::openapi::complete(&mut document);
    document
}

/// The headers every response carries (the pages set stricter ones of their own).
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"));
    if https {
        headers.add(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    } else {
        headers
    }
}

impl Application {
    pub fn build(config: Config, db: Db, clock: SharedClock) -> anyhow::Result<Self> {
        let metrics = Metrics::new(db.url().backend_name())?;
        let keys = Arc::new(config.keyring()?);
        let openapi_json = serde_json::to_string(&openapi())?;
        let listener = TcpListener::bind(&config.bind)?;
        let port = listener.local_addr()?.port();
        let limits = Arc::new(crate::limits::Limits::new(
            config.login_limit_per_account,
            config.login_limit_per_ip,
        ));
        // HSTS only where the service is reached over https (a plain-http development origin
        // would be pinned to https it cannot serve).
        let https = config
            .public_base_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
        let state = AppState {
            db,
            clock,
            config: Arc::new(config),
            metrics,
            openapi_json: Arc::new(openapi_json),
            keys,
            limits,
        };
        let data = web::Data::new(state.clone());
        // Database work runs on the workers' blocking pools (one worker per core). Together
        // they match the connection pool: more threads would only wait for a connection and
        // cost context switches (measured on 2 cores: 10-40 % more lookups per second).
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let blocking_threads = (state.config.db_pool_size as usize / workers).max(2);
        let server = HttpServer::new(move || {
            let (app, _) = App::new().into_utoipa_app().configure(api::routes).split_for_parts();
            app.configure(pages::routes)
                .configure(console::routes)
                .configure(assets::routes)
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_JSON_BODY))
                .default_service(web::to(problem::no_route))
                .wrap(from_fn(middleware::authenticate))
                .wrap(from_fn(middleware::observe))
                .wrap(from_fn(middleware::deadline))
                .wrap(security_headers(https))
        })
        .workers(workers)
        // Slow clients: the request head must arrive within 5 s of the connection (actix answers
        // 408 and closes), a closing connection gets 2 s, an idle keep-alive connection 30 s;
        // the body and the answer are bounded by `REQUEST_TIMEOUT_SECS` (middleware::deadline).
        .client_request_timeout(std::time::Duration::from_secs(5))
        .client_disconnect_timeout(std::time::Duration::from_secs(2))
        .keep_alive(std::time::Duration::from_secs(30))
        .worker_max_blocking_threads(blocking_threads)
        .listen(listener)?
        // Signals are handled by the binary, which also stops the embedded worker.
        .disable_signals()
        .shutdown_timeout(20)
        .run();
        Ok(Application { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn server(self) -> Server {
        self.server
    }
}
