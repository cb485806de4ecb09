use crate::{binaries, postgres, Backend};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The real web binary on a fresh database, and helpers to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub backend: Backend,
    /// The `DATABASE_URL` the app runs on, for the worker and for backup drills.
    pub database_url: String,
    /// The `DATA_KEYS` the app runs with (the worker gets the same).
    pub data_keys: String,
    client: reqwest::Client,
    child: Child,
    pg_database: Option<String>,
    _dir: tempfile::TempDir,
}

/// A second web process of a [`TestApp`] (killed on drop).
pub struct Replica {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _child: Child,
}

/// A logged-in staff member.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub tenant_id: String,
    pub staff_id: String,
    pub email: String,
    pub password: String,
}

/// An HTTP answer, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Response {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Assert an RFC 9457 problem with this status, and return it.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        assert_eq!(self.content_type(), "application/problem+json", "{}", self.text);
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert!(
            self.json["type"].is_string() && self.json["title"].is_string(),
            "{}",
            self.text
        );
        &self.json
    }

    /// The fields named in a validation problem.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.problem(422)["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// The first password an owner sets in [`TestApp::create_staff`], replaced at first login.
pub const FIRST_PASSWORD: &str = "set by the owner 0001";

/// Start the web binary on `database_url`; its process and base URL once it listens.
async fn start_web(database_url: &str, data_keys: &str, env: &[(&str, &str)]) -> (Child, String) {
    let mut command = Command::new(binaries::path("web"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("BIND", "127.0.0.1:0")
        .env("EMBEDDED_WORKER", "false")
        .env("DB_POOL_SIZE", "4")
        .env("DATA_KEYS", data_keys)
        // Every test comes from 127.0.0.1 and logs many people in: the login limits are tested
        // on their own (abuse.rs), with the values they set.
        .env("LOGIN_LIMIT_PER_IP", "100000")
        .env("LOGIN_LIMIT_PER_ACCOUNT", "100000")
        .env(
            "RUST_LOG",
            std::env::var("TEST_RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start the web binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read the web binary's output") {
            if let Some(base) = line.strip_prefix("salon-crm listening on ") {
                return base.trim().to_owned();
            }
        }
        panic!("the web binary exited before listening");
    })
    .await
    .expect("the web binary did not start listening within 60 s");
    // Keep draining stdout so the app never blocks or fails writing to it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    (child, base)
}

impl TestApp {
    /// Stop this app's process and start a new one on the same database, with `data_keys`
    /// and extra environment (a restart after a configuration change).
    pub async fn restart(&mut self, data_keys: &str, env: &[(&str, &str)]) {
        let _ = self.child.kill().await;
        let (child, base) = start_web(&self.database_url, data_keys, env).await;
        self.child = child;
        self.base = base;
        self.data_keys = data_keys.to_owned();
    }

    /// Stop this app's process (and, on PostgreSQL, wait until its sessions are gone); start
    /// it again with [`TestApp::restart`].
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
        if let Some(name) = self.pg_database.clone() {
            tokio::task::spawn_blocking(move || postgres::wait_until_unused(&name))
                .await
                .expect("wait for the database's sessions to end");
        }
    }

    /// Lose the database, as a disk or an operator error would: SQLite's file (and its WAL)
    /// deleted, or the PostgreSQL database dropped and created again, empty. Stop first.
    pub async fn destroy_database(&self) {
        match &self.pg_database {
            None => {
                let path = self.database_url.trim_start_matches("sqlite://");
                for suffix in ["", "-wal", "-shm"] {
                    match std::fs::remove_file(format!("{path}{suffix}")) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("delete {path}{suffix}: {e}"),
                        _ => {}
                    }
                }
            }
            Some(name) => {
                let name = name.clone();
                tokio::task::spawn_blocking(move || postgres::recreate_empty(&name))
                    .await
                    .expect("recreate the database");
            }
        }
    }

    /// Every text value in this app's database (every text column of every table), read
    /// directly: see [`crate::database_text`].
    pub async fn database_text(&self) -> Vec<crate::database_text::StoredText> {
        let url = self.database_url.clone();
        tokio::task::spawn_blocking(move || crate::database_text::read_all(&url))
            .await
            .expect("read the database's text")
    }

    /// The stored values (`table.column: value`) that contain any of `needles`.
    pub async fn stored_text_containing(&self, needles: &[&str]) -> Vec<String> {
        crate::database_text::containing(&self.database_text().await, needles)
    }

    /// Run the web binary's command line (e.g. `migrate`, `rotate-keys`) on this database.
    pub async fn web_command(&self, args: &[&str], data_keys: &str) -> std::process::Output {
        self.web_process(args, data_keys)
            .output()
            .await
            .expect("run the web binary")
    }

    /// The web binary's command line on this database, to start in the background (killed on
    /// drop).
    pub fn web_process(&self, args: &[&str], data_keys: &str) -> Command {
        let mut command = Command::new(binaries::path("web"));
        command
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("DATA_KEYS", data_keys)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true);
        command
    }

    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Start the app with extra environment variables (e.g. `SESSION_TTL`).
    pub async fn spawn_with(backend: Backend, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("salon.db").display()), None),
            Backend::Postgres => {
                let name = tokio::task::spawn_blocking(postgres::create_database)
                    .await
                    .expect("create a test database");
                (postgres::url_for(&name), Some(name))
            }
        };
        Self::start(backend, database_url, pg_database, dir, env).await
    }

    /// The web binary on `database_url` with fresh keys; `pg_database` is dropped with the app.
    async fn start(
        backend: Backend,
        database_url: String,
        pg_database: Option<String>,
        dir: tempfile::TempDir,
        env: &[(&str, &str)],
    ) -> Self {
        let data_keys = test_data_keys();
        let (child, base) = start_web(&database_url, &data_keys, env).await;
        TestApp {
            base,
            backend,
            database_url,
            data_keys,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            child,
            pg_database,
            _dir: dir,
        }
    }

    /// The app on a database of the caller's (a throwaway cluster the test restarts, say);
    /// `database_url` must be migrated or migratable. Nothing is dropped afterwards.
    pub async fn spawn_on(backend: Backend, database_url: String, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start(backend, database_url, None, dir, env).await
    }

    /// Another web process on the same database and keys (a second replica behind the load
    /// balancer); stopped when dropped.
    pub async fn replica(&self, env: &[(&str, &str)]) -> Replica {
        let (child, base) = start_web(&self.database_url, &self.data_keys, env).await;
        Replica { base, _child: child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Response {
        let response = request.send().await.expect("the request reached the app");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("read the body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Sign a new salon chain up; its owner's session.
    pub async fn signup(&self, tenant_name: &str) -> Session {
        let email = format!("owner-{}@example.com", uuid::Uuid::new_v4().simple());
        let response = self
            .request(
                Method::POST,
                "/api/v1/signup",
                None,
                Some(&json!({
                    "tenant_name": tenant_name,
                    "owner_name": "店主",
                    "email": email,
                    "password": PASSWORD,
                    "timezone": "Asia/Shanghai",
                    "locale": "zh-CN",
                })),
            )
            .await;
        assert_eq!(response.status, 201, "signup failed: {}", response.text);
        Session {
            token: response.json["token"].as_str().expect("token").to_owned(),
            tenant_id: response.json["tenant_id"].as_str().expect("tenant_id").to_owned(),
            staff_id: response.json["owner_id"].as_str().expect("owner_id").to_owned(),
            email,
            password: PASSWORD.into(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.request(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(&json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Create a store as `by`; its id.
    pub async fn create_store(&self, by: &Session, name: &str) -> String {
        let response = self
            .post(
                "/api/v1/stores",
                &by.token,
                &json!({ "name": name, "timezone": "Asia/Shanghai" }),
            )
            .await;
        assert_eq!(response.status, 201, "creating a store failed: {}", response.text);
        response.json["id"].as_str().expect("store id").to_owned()
    }

    /// Create a service in the catalog as `by` (category 面部护理, 60 minutes); its id.
    pub async fn create_service(&self, by: &Session, name: &str, price_cents: i64) -> String {
        let response = self
            .post(
                "/api/v1/services",
                &by.token,
                &json!({ "name": name, "category": "面部护理", "duration_minutes": 60, "price_cents": price_cents }),
            )
            .await;
        assert_eq!(response.status, 201, "creating a service failed: {}", response.text);
        response.json["id"].as_str().expect("service id").to_owned()
    }

    /// Create a staff member as `by` (an owner) and log them in, the way a salon without email
    /// does it: the owner sets a first password, the member's first login answers
    /// `password_change_required` with a token, they choose their own ([`PASSWORD`]) with it,
    /// and log in with that.
    pub async fn create_staff(&self, by: &Session, role: &str, store_id: Option<&str>) -> Session {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let response = self
            .post(
                "/api/v1/staff",
                &by.token,
                &json!({ "name": format!("{role} 员工"), "email": email, "password": FIRST_PASSWORD, "role": role, "store_id": store_id }),
            )
            .await;
        assert_eq!(response.status, 201, "creating staff failed: {}", response.text);
        let staff_id = response.json["id"].as_str().expect("staff id").to_owned();
        let first = self.login(&email, FIRST_PASSWORD).await;
        assert_eq!(
            first.status, 403,
            "a first login leads to choosing a password: {}",
            first.text
        );
        let token = first.json["password_token"].as_str().expect("a password token");
        let chosen = self
            .request(
                Method::PUT,
                &format!("/api/v1/password_tokens/{token}"),
                None,
                Some(&json!({ "password": PASSWORD })),
            )
            .await;
        assert_eq!(chosen.status, 204, "choosing a password failed: {}", chosen.text);
        let login = self.login(&email, PASSWORD).await;
        assert_eq!(login.status, 200, "staff login failed: {}", login.text);
        Session {
            token: login.json["token"].as_str().expect("token").to_owned(),
            tenant_id: by.tenant_id.clone(),
            staff_id,
            email,
            password: PASSWORD.into(),
        }
    }

    /// The real worker binary, set up for this app's database, to start and stop at will.
    pub fn worker_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binaries::path("worker"));
        command
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("DATA_KEYS", &self.data_keys)
            .env("RUST_LOG", "info")
            .kill_on_drop(true);
        command
    }

    /// Run the real worker binary against this app's database.
    pub async fn worker(&self, args: &[&str]) -> std::process::Output {
        Command::new(binaries::path("worker"))
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("DATA_KEYS", &self.data_keys)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("run the worker binary")
    }
}

/// A fresh data key per app, as an operator would configure one.
pub fn test_data_keys() -> String {
    use base64::Engine;
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!(
        "k{}:{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8],
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(name) = self.pg_database.take() {
            // Best effort; a throwaway cluster is removed whole anyway.
            let _ = std::thread::spawn(move || postgres::drop_database(&name)).join();
        }
    }
}
