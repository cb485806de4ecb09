//! `web backup` and `web restore`: the whole database in one file, and back.
//!
//! The file is two header lines and the payload:
//!
//! ```text
//! salon-crm backup 1
//! {"backend":"sqlite","schema_version":"20261201000007","created_at":…,"payload_sha256":…}
//! <the SQLite database (VACUUM INTO), or a pg_dump --format=custom archive>
//! ```
//!
//! The second line is the [`Manifest`]: what the payload is, the schema it holds, when and by
//! which salon-crm it was made, its size and SHA-256, and the ids (never the bytes) of the
//! keys its sensitive fields are sealed with. `tail -n +3 FILE` gives the payload to the plain
//! tools (`sqlite3`, `pg_restore`).
//!
//! A restore checks everything it can before it changes anything: the header, the backend,
//! the schema (not newer than this binary), the checksum, the payload itself; then it replaces
//! the database in one step (SQLite: a verified copy renamed into place; PostgreSQL:
//! `pg_restore --single-transaction`, which rolls back whole on any error).
//!
//! PostgreSQL is dumped and restored by the `pg_dump`/`pg_restore` of the server's major
//! version or newer (`PG_BIN`, `/usr/lib/postgresql/*/bin`, `PATH`), given the connection by
//! environment variables (`PGHOST`, `PGPASSWORD`, …): never a password on a command line.

use super::{known_schema_versions, DatabaseUrl};
use crate::config::Config;
use crate::files::create_private;
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first line of every backup file; a new layout would get a new number.
const MAGIC: &str = "salon-crm backup 1";
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const PG_CUSTOM_MAGIC: &[u8] = b"PGDMP";
/// The manifest line is small; anything longer is not ours.
const MAX_MANIFEST: u64 = 64 * 1024;

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Refused before anything was changed: the file, the database or the tools are not what
    /// the command needs. The message says what to do.
    #[error("{0}")]
    Refused(String),
    /// It went wrong on the way; the message says whether anything was changed.
    #[error("{0}")]
    Failed(String),
}

impl BackupError {
    /// The process exit code: 1 failed, 3 refused (2 is clap's for a bad command line).
    pub fn exit_code(&self) -> i32 {
        match self {
            BackupError::Failed(_) => 1,
            BackupError::Refused(_) => 3,
        }
    }
}

fn refused(message: impl Into<String>) -> BackupError {
    BackupError::Refused(message.into())
}

fn failed(message: impl Into<String>) -> BackupError {
    BackupError::Failed(message.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &DatabaseUrl) -> Self {
        match url {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    fn payload_kind(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite3 database",
            Backend::Postgres => "pg_dump custom archive",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// What a backup file holds: its second line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub backend: Backend,
    /// The latest migration applied in the data, as in `__diesel_schema_migrations`.
    pub schema_version: String,
    pub created_at: DateTime<Utc>,
    pub salon_crm_version: String,
    /// "sqlite3 database" or "pg_dump custom archive".
    pub payload: String,
    pub payload_bytes: u64,
    pub payload_sha256: String,
    /// Sensitive values per id of the key that sealed them. The keys are not in the file.
    #[serde(default)]
    pub key_ids: BTreeMap<String, u64>,
    /// PostgreSQL: the server's version and the pg_dump that made the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_dump_version: Option<String>,
}

/// `web restore`'s switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// Verify the file (header, checksum, backend, schema, a trial read of the payload) and
    /// change nothing.
    pub check_only: bool,
    /// PostgreSQL: restore although other sessions are connected to the database.
    pub force: bool,
}

/// Where the keys for sensitive fields come from, for the reminder that they are not in the
/// backup and for the check after a restore.
#[derive(Debug, Clone)]
enum KeySource {
    /// `DATA_KEYS` is set.
    Environment(Result<Vec<String>, String>),
    /// SQLite without `DATA_KEYS`: the key file beside the database (None: not there).
    File(PathBuf, Option<Result<Vec<String>, String>>),
    /// PostgreSQL without `DATA_KEYS` (the service refuses to start so).
    Missing,
}

impl KeySource {
    fn of(config: &Config) -> Self {
        let parse = |spec: &str| {
            crate::crypto::Keyring::parse(spec).map(|ring| ring.key_ids().map(str::to_owned).collect::<Vec<_>>())
        };
        match (&config.data_keys, &config.database_url) {
            (Some(keys), _) => KeySource::Environment(parse(keys.expose())),
            (None, DatabaseUrl::Sqlite(path)) => {
                let file = path.with_file_name("data-keys");
                let ids = match std::fs::read_to_string(&file) {
                    Ok(spec) => Some(parse(&spec)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => Some(Err(e.to_string())),
                };
                KeySource::File(file, ids)
            }
            (None, DatabaseUrl::Postgres(_)) => KeySource::Missing,
        }
    }

    fn name(&self) -> String {
        match self {
            KeySource::Environment(_) | KeySource::Missing => "DATA_KEYS".into(),
            KeySource::File(file, _) => format!("the key file {}", file.display()),
        }
    }
}

/// What `web backup` did.
#[derive(Debug)]
pub struct BackupReport {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub elapsed: Duration,
    keys: KeySource,
}

impl fmt::Display for BackupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.manifest;
        writeln!(
            f,
            "backup written to {}: {} ({}), schema {}, {} in {:.2} s",
            self.path.display(),
            m.backend,
            m.payload,
            m.schema_version,
            human_bytes(m.payload_bytes),
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "sensitive fields: {}", describe_key_ids(&m.key_ids))?;
        write!(
            f,
            "The data keys are NOT in the backup: keep {} backed up separately (a secret store), \
             and restore it beside the data; without it the sensitive fields (allergies, medical \
             notes, skin history) cannot be read.",
            self.keys.name()
        )
    }
}

/// What `web restore` did (or, with `--check`, would do).
#[derive(Debug)]
pub struct RestoreReport {
    pub from: PathBuf,
    pub manifest: Manifest,
    pub checked_only: bool,
    pub elapsed: Duration,
    /// Sensitive values per key id, as found in the restored data.
    pub key_ids: BTreeMap<String, u64>,
    /// Migrations newer than the backup that this binary applies when the service starts.
    pub pending_migrations: usize,
    target: String,
    keys: KeySource,
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.manifest;
        let what = if self.checked_only { "checked" } else { "restored" };
        writeln!(
            f,
            "{what} {}: {} backup, schema {}, made {} by salon-crm {}, {}, in {:.2} s",
            self.from.display(),
            m.backend,
            m.schema_version,
            m.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            m.salon_crm_version,
            human_bytes(m.payload_bytes),
            self.elapsed.as_secs_f64()
        )?;
        if self.checked_only {
            writeln!(f, "the backup is sound; {} was not changed", self.target)?;
        } else {
            writeln!(f, "into {}", self.target)?;
        }
        writeln!(f, "sensitive fields: {}", describe_key_ids(&self.key_ids))?;
        if let Some(warning) = self.key_warning() {
            writeln!(f, "WARNING: {warning}")?;
        }
        if self.pending_migrations > 0 {
            writeln!(
                f,
                "this binary applies {} newer migration(s) when the service starts (or run `web migrate`)",
                self.pending_migrations
            )?;
        }
        write!(
            f,
            "The data keys are not in the backup: {} must hold the keys the data was sealed with.",
            self.keys.name()
        )
    }
}

impl RestoreReport {
    /// The restored values whose keys are not configured here, said as something to do.
    pub fn key_warning(&self) -> Option<String> {
        if self.key_ids.is_empty() {
            return None;
        }
        let configured = match &self.keys {
            KeySource::Environment(Ok(ids)) | KeySource::File(_, Some(Ok(ids))) => ids,
            KeySource::Environment(Err(e)) | KeySource::File(_, Some(Err(e))) => {
                return Some(format!(
                    "the configured keys cannot be read ({e}): fix {}",
                    self.keys.name()
                ))
            }
            KeySource::File(file, None) => {
                return Some(format!(
                    "no key file at {} and DATA_KEYS is not set: put the backed-up key file there (or set \
                     DATA_KEYS) before starting the service, or it makes a new key and the restored \
                     sensitive fields stay unreadable",
                    file.display()
                ))
            }
            KeySource::Missing => {
                return Some("DATA_KEYS is not set: set it to the keys the data was sealed with".into())
            }
        };
        let missing: Vec<&str> = self
            .key_ids
            .keys()
            .filter(|id| !configured.iter().any(|known| known == *id))
            .map(String::as_str)
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "values are sealed with key(s) {} which {} does not hold: restore those keys, or those \
                 fields cannot be read",
                missing.join(", "),
                self.keys.name()
            )
        })
    }
}

fn describe_key_ids(key_ids: &BTreeMap<String, u64>) -> String {
    if key_ids.is_empty() {
        return "none stored".into();
    }
    let parts: Vec<String> = key_ids.iter().map(|(id, n)| format!("{n} under key {id}")).collect();
    format!("{} value(s): {}", key_ids.values().sum::<u64>(), parts.join(", "))
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    let mut unit = "bytes";
    for next in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit} ({bytes} bytes)")
}

// ---------------------------------------------------------------------------------------
// The commands

/// `web backup --to PATH`: a consistent copy of `DATABASE_URL`, taken while the service runs.
pub fn backup(config: &Config, to: &Path, overwrite: bool) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    // The data is as of the copy's start (its read transaction or snapshot), not its end.
    let created_at = Utc::now();
    if !overwrite && to.exists() {
        return Err(refused(format!(
            "{} already exists: choose another name (e.g. with the date in it) or pass --force to replace it",
            to.display()
        )));
    }
    if to.is_dir() {
        return Err(refused(format!(
            "{} is a folder: --to names the backup file",
            to.display()
        )));
    }
    if let Some(dir) = parent_dir(to) {
        std::fs::create_dir_all(dir).map_err(|e| failed(format!("cannot create the folder {}: {e}", dir.display())))?;
    }
    let backend = Backend::of(&config.database_url);
    tracing::info!(to = %to.display(), backend = %backend, "backing up");
    let payload = match &config.database_url {
        DatabaseUrl::Sqlite(path) => sqlite::backup(path, to)?,
        DatabaseUrl::Postgres(url) => postgres::backup(url, to)?,
    };
    let manifest = Manifest {
        backend,
        schema_version: payload.schema_version,
        created_at,
        salon_crm_version: env!("CARGO_PKG_VERSION").into(),
        payload: backend.payload_kind().into(),
        payload_bytes: 0,
        payload_sha256: String::new(),
        key_ids: payload.key_ids,
        server_version: payload.server_version,
        pg_dump_version: payload.pg_dump_version,
    };
    let manifest = write_backup_file(to, payload.file.path(), manifest, overwrite)?;
    tracing::info!(to = %to.display(), bytes = manifest.payload_bytes, "backup written");
    Ok(BackupReport {
        path: to.to_owned(),
        manifest,
        elapsed: started.elapsed(),
        keys: KeySource::of(config),
    })
}

/// `web restore --from PATH`: replace `DATABASE_URL`'s data with a backup's, after checking it.
pub fn restore(config: &Config, from: &Path, options: RestoreOptions) -> Result<RestoreReport, BackupError> {
    let started = Instant::now();
    let backend = Backend::of(&config.database_url);
    let file = BackupFile::open(from)?;
    let manifest = file.manifest.clone();
    if manifest.backend != backend {
        return Err(refused(format!(
            "{} is a {} backup, but DATABASE_URL is a {backend} database: a backup restores only into \
             the backend it was made from. Nothing was changed.",
            from.display(),
            manifest.backend
        )));
    }
    let known = known_schema_versions(backend == Backend::Postgres);
    let backup_position = schema_position(&known, &manifest.schema_version).ok_or_else(|| {
        refused(format!(
            "{} holds schema {} (made by salon-crm {}), which this salon-crm ({}, schemas up to {}) \
             does not know: restore it with the version that made it, or a newer one. Nothing was changed.",
            from.display(),
            manifest.schema_version,
            manifest.salon_crm_version,
            env!("CARGO_PKG_VERSION"),
            known.last().map(String::as_str).unwrap_or("none"),
        ))
    })?;
    tracing::info!(from = %from.display(), bytes = manifest.payload_bytes, "verifying the checksum");
    file.verify()?;
    tracing::info!(from = %from.display(), backend = %backend, check_only = options.check_only, "restoring");
    let (key_ids, target) = match &config.database_url {
        DatabaseUrl::Sqlite(path) => (
            sqlite::restore(path, &file, options)?,
            format!("the SQLite database {}", path.display()),
        ),
        DatabaseUrl::Postgres(url) => {
            let (key_ids, database) = postgres::restore(url, &file, options, &known, backup_position)?;
            (key_ids, format!("the PostgreSQL database {database}"))
        }
    };
    Ok(RestoreReport {
        from: from.to_owned(),
        manifest,
        checked_only: options.check_only,
        elapsed: started.elapsed(),
        key_ids,
        pending_migrations: known.len().saturating_sub(backup_position + 1),
        target,
        keys: KeySource::of(config),
    })
}

fn schema_position(known: &[String], version: &str) -> Option<usize> {
    known.iter().position(|v| v == version)
}

// ---------------------------------------------------------------------------------------
// The file

/// The payload a backend made, in a temporary file beside the destination.
struct Payload {
    file: TempFile,
    schema_version: String,
    key_ids: BTreeMap<String, u64>,
    server_version: Option<String>,
    pg_dump_version: Option<String>,
}

/// Header, then the payload, into a temporary file beside `to`, synced, renamed into place.
fn write_backup_file(
    to: &Path,
    payload: &Path,
    mut manifest: Manifest,
    overwrite: bool,
) -> Result<Manifest, BackupError> {
    let (bytes, sha256) = hash_range(payload, 0, None)?;
    manifest.payload_bytes = bytes;
    manifest.payload_sha256 = sha256;
    let header = serde_json::to_string(&manifest).map_err(|e| failed(format!("cannot write the manifest: {e}")))?;
    let staged = TempFile::beside(to, "partial");
    let write = || -> std::io::Result<()> {
        // Clients' names and phones: readable by the owner only.
        let mut out = create_private(staged.path())?;
        out.write_all(MAGIC.as_bytes())?;
        out.write_all(b"\n")?;
        out.write_all(header.as_bytes())?;
        out.write_all(b"\n")?;
        let mut input = File::open(payload)?;
        std::io::copy(&mut input, &mut out)?;
        out.sync_all()
    };
    write().map_err(|e| failed(format!("cannot write {}: {e}", staged.path().display())))?;
    if !overwrite && to.exists() {
        return Err(refused(format!(
            "{} appeared while the backup ran: not replaced",
            to.display()
        )));
    }
    staged
        .persist(to)
        .map_err(|e| failed(format!("cannot move the backup into place at {}: {e}", to.display())))?;
    Ok(manifest)
}

/// A backup file whose header has been read.
struct BackupFile {
    path: PathBuf,
    manifest: Manifest,
    /// Where the payload starts.
    offset: u64,
}

impl BackupFile {
    fn open(path: &Path) -> Result<Self, BackupError> {
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => refused(format!("there is no file at {}", path.display())),
            _ => refused(format!("cannot read {}: {e}", path.display())),
        })?;
        let mut reader = BufReader::new(file);
        let mut first = Vec::new();
        (&mut reader)
            .take(MAGIC.len() as u64 + 1)
            .read_until(b'\n', &mut first)
            .map_err(|e| refused(format!("cannot read {}: {e}", path.display())))?;
        if first != format!("{MAGIC}\n").as_bytes() {
            return Err(refused(not_a_backup(path, &first)));
        }
        let mut second = Vec::new();
        (&mut reader)
            .take(MAX_MANIFEST)
            .read_until(b'\n', &mut second)
            .map_err(|e| refused(format!("cannot read {}: {e}", path.display())))?;
        if second.last() != Some(&b'\n') {
            return Err(refused(format!(
                "{} is damaged: its header ends early. Nothing was changed.",
                path.display()
            )));
        }
        let manifest: Manifest = serde_json::from_slice(&second).map_err(|e| {
            refused(format!(
                "{} is damaged: its header cannot be read ({e}). Nothing was changed.",
                path.display()
            ))
        })?;
        Ok(BackupFile {
            path: path.to_owned(),
            manifest,
            offset: (first.len() + second.len()) as u64,
        })
    }

    /// The payload is whole (size and SHA-256 as recorded) and is what the header says.
    fn verify(&self) -> Result<(), BackupError> {
        let m = &self.manifest;
        let size = std::fs::metadata(&self.path)
            .map_err(|e| refused(format!("cannot read {}: {e}", self.path.display())))?
            .len();
        let actual = size.saturating_sub(self.offset);
        if actual != m.payload_bytes {
            return Err(refused(format!(
                "{} is damaged: it holds {actual} bytes of data where its header says {} ({}). Nothing was changed.",
                self.path.display(),
                m.payload_bytes,
                if actual < m.payload_bytes {
                    "a truncated copy?"
                } else {
                    "something was appended"
                },
            )));
        }
        let (_, sha256) = hash_range(&self.path, self.offset, Some(m.payload_bytes))?;
        if sha256 != m.payload_sha256 {
            return Err(refused(format!(
                "{} is damaged: its data does not match the checksum in its header (SHA-256 {sha256}, \
                 expected {}). Nothing was changed; use another backup.",
                self.path.display(),
                m.payload_sha256
            )));
        }
        let mut start = [0u8; 16];
        let mut file = self.payload_reader()?;
        let read = file
            .read(&mut start)
            .map_err(|e| refused(format!("cannot read {}: {e}", self.path.display())))?;
        let magic = match m.backend {
            Backend::Sqlite => SQLITE_MAGIC,
            Backend::Postgres => PG_CUSTOM_MAGIC,
        };
        if !start[..read].starts_with(magic) {
            return Err(refused(format!(
                "{} says it holds a {} but its data is not one. Nothing was changed.",
                self.path.display(),
                m.payload
            )));
        }
        Ok(())
    }

    /// The payload, from its first byte to its last.
    fn payload_reader(&self) -> Result<std::io::Take<File>, BackupError> {
        let mut file =
            File::open(&self.path).map_err(|e| failed(format!("cannot read {}: {e}", self.path.display())))?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| failed(format!("cannot read {}: {e}", self.path.display())))?;
        Ok(file.take(self.manifest.payload_bytes))
    }
}

fn not_a_backup(path: &Path, start: &[u8]) -> String {
    let path = path.display();
    if start.starts_with(SQLITE_MAGIC) || start.starts_with(b"SQLite format") {
        format!(
            "{path} is a plain SQLite database, not a file made by `web backup`: to use it, stop the service \
             and copy it into place yourself (README, \"Backup and restore\"). Nothing was changed."
        )
    } else if start.starts_with(PG_CUSTOM_MAGIC) {
        format!(
            "{path} is a plain pg_dump archive, not a file made by `web backup`: restore it with pg_restore \
             (README, \"Backup and restore\"). Nothing was changed."
        )
    } else if start.starts_with(b"salon-crm backup ") {
        format!(
            "{path} is a backup in a newer format than this salon-crm ({}) reads: restore it with a newer \
             salon-crm. Nothing was changed.",
            env!("CARGO_PKG_VERSION")
        )
    } else {
        format!("{path} is not a salon-crm backup (made by `web backup`). Nothing was changed.")
    }
}

/// Bytes and lowercase hex SHA-256 of `path` from `offset`, `len` bytes (or to the end).
fn hash_range(path: &Path, offset: u64, len: Option<u64>) -> Result<(u64, String), BackupError> {
    let read = || -> std::io::Result<(u64, String)> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut hasher = Sha256::new();
        let total = std::io::copy(&mut file.take(len.unwrap_or(u64::MAX)), &mut hasher)?;
        Ok((total, hex::encode(hasher.finalize())))
    };
    read().map_err(|e| failed(format!("cannot read {}: {e}", path.display())))
}

fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|dir| !dir.as_os_str().is_empty())
}

/// Make a rename durable: sync the folder that holds the new name.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

/// A file beside a destination, removed (with any SQLite side files) unless persisted.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn beside(target: &Path, what: &str) -> Self {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "salon-crm".into());
        let file = format!(".{name}.{what}-{}", uuid::Uuid::new_v4().simple());
        TempFile(Some(match parent_dir(target) {
            Some(dir) => dir.join(file),
            None => PathBuf::from(file),
        }))
    }

    /// [`TempFile::beside`], created empty and readable by the owner only, for a tool to write
    /// into (VACUUM INTO and pg_dump keep an existing file's mode): the copies hold clients'
    /// names and phones.
    fn private_beside(target: &Path, what: &str) -> Result<Self, BackupError> {
        let file = Self::beside(target, what);
        create_private(file.path()).map_err(|e| failed(format!("cannot create {}: {e}", file.path().display())))?;
        Ok(file)
    }

    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    /// Rename into place (atomically, on one filesystem) and sync the folder.
    fn persist(mut self, to: &Path) -> std::io::Result<()> {
        let from = self.path().to_owned();
        std::fs::rename(&from, to)?;
        self.0 = None;
        sync_dir(to)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(&path);
            for side in sqlite_side_files(&path) {
                let _ = std::fs::remove_file(side);
            }
        }
    }
}

/// The files SQLite keeps beside a database: its WAL, shared memory and rollback journal.
fn sqlite_side_files(db: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    ["-wal", "-shm", "-journal"].into_iter().map(move |suffix| {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        PathBuf::from(side)
    })
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = Text)]
    key_id: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn key_map(rows: Vec<KeyCount>) -> BTreeMap<String, u64> {
    rows.into_iter()
        .map(|row| (row.key_id, u64::try_from(row.n).unwrap_or(0)))
        .collect()
}

/// The newest migration applied, or None when `table_exists` (a count of the migrations table,
/// as `n`) finds no table. Read by hand: diesel's own `applied_migrations` would create the
/// table, which a read-only snapshot refuses.
fn latest_schema_version<C>(conn: &mut C, table_exists: &str) -> QueryResult<Option<String>>
where
    C: Connection,
    for<'a> diesel::query_builder::SqlQuery:
        diesel::query_dsl::LoadQuery<'a, C, Count> + diesel::query_dsl::LoadQuery<'a, C, Version>,
{
    let tables: Count = diesel::sql_query(table_exists).get_result(conn)?;
    if tables.n == 0 {
        return Ok(None);
    }
    let latest: Vec<Version> = diesel::sql_query(
        "SELECT CAST(version AS TEXT) AS version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1",
    )
    .load(conn)?;
    Ok(latest.into_iter().next().map(|v| v.version))
}

fn database_error(what: &str) -> impl FnOnce(diesel::result::Error) -> BackupError + '_ {
    move |e| failed(format!("{what}: {e}"))
}

// ---------------------------------------------------------------------------------------
// SQLite

mod sqlite {
    use super::*;

    /// Sealed values per key id: "v1.<key id>.<nonce>.<ciphertext>".
    const KEY_IDS: &str = "SELECT substr(sensitive_enc, 4, instr(substr(sensitive_enc, 4), '.') - 1) AS key_id, \
         count(*) AS n FROM clients WHERE sensitive_enc LIKE 'v1.%' GROUP BY 1 ORDER BY 1";

    #[derive(QueryableByName)]
    struct Integrity {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }

    #[derive(QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }

    fn path_text(path: &Path) -> Result<&str, BackupError> {
        path.to_str()
            .ok_or_else(|| refused(format!("{} is not a UTF-8 path", path.display())))
    }

    /// Opens the database file; callers check first that it exists, since diesel would create
    /// a missing one.
    fn open(path: &Path, busy_timeout_ms: u32) -> Result<SqliteConnection, BackupError> {
        let mut conn = SqliteConnection::establish(path_text(path)?)
            .map_err(|e| failed(format!("cannot open {}: {e}", path.display())))?;
        conn.batch_execute(&format!("PRAGMA busy_timeout = {busy_timeout_ms}"))
            .map_err(database_error("cannot set the busy timeout"))?;
        Ok(conn)
    }

    fn schema_version(conn: &mut SqliteConnection) -> QueryResult<Option<String>> {
        latest_schema_version(
            conn,
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'",
        )
    }

    /// `PRAGMA integrity_check`, a migrations table, and what it holds.
    fn check(path: &Path) -> Result<(String, BTreeMap<String, u64>), String> {
        let mut conn = open(path, 10_000).map_err(|e| e.to_string())?;
        let rows: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
            .load(&mut conn)
            .map_err(|e| e.to_string())?;
        if !(rows.len() == 1 && rows[0].integrity_check == "ok") {
            let problems: Vec<String> = rows.into_iter().take(5).map(|r| r.integrity_check).collect();
            return Err(format!("integrity check failed: {}", problems.join("; ")));
        }
        let version = schema_version(&mut conn)
            .map_err(|e| e.to_string())?
            .ok_or("it has no migrations table: not a salon-crm database")?;
        let keys = diesel::sql_query(KEY_IDS)
            .load::<KeyCount>(&mut conn)
            .map_err(|e| format!("cannot read the clients: {e}"))?;
        Ok((version, key_map(keys)))
    }

    pub(super) fn backup(db: &Path, to: &Path) -> Result<Payload, BackupError> {
        if !db.is_file() {
            return Err(refused(format!(
                "there is no SQLite database at {} (DATABASE_URL): nothing to back up",
                db.display()
            )));
        }
        if same_file(db, to) {
            return Err(refused("--to names the database itself: choose another file"));
        }
        let mut conn = open(db, 10_000)?;
        if schema_version(&mut conn)
            .map_err(|e| refused(format!("{} cannot be read as a SQLite database: {e}", db.display())))?
            .is_none()
        {
            return Err(refused(format!(
                "{} has no salon-crm schema (no migrations table): is DATABASE_URL right?",
                db.display()
            )));
        }
        let file = TempFile::private_beside(to, "copy")?;
        // One read transaction: a consistent copy while the service keeps writing.
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(path_text(file.path())?)
            .execute(&mut conn)
            .map_err(database_error("copying the database (VACUUM INTO) failed"))?;
        drop(conn);
        let (schema_version, key_ids) =
            check(file.path()).map_err(|e| failed(format!("the copy of {} is not sound: {e}", db.display())))?;
        Ok(Payload {
            file,
            schema_version,
            key_ids,
            server_version: None,
            pg_dump_version: None,
        })
    }

    pub(super) fn restore(
        db: &Path,
        backup: &BackupFile,
        options: RestoreOptions,
    ) -> Result<BTreeMap<String, u64>, BackupError> {
        if let Some(dir) = parent_dir(db) {
            std::fs::create_dir_all(dir)
                .map_err(|e| failed(format!("cannot create the folder {}: {e}", dir.display())))?;
        }
        // A copy beside the database, checked before it replaces anything.
        let staged = TempFile::beside(db, "restore");
        let copy = || -> std::io::Result<()> {
            let mut out = File::create_new(staged.path())?;
            let mut input = backup.payload_reader().map_err(std::io::Error::other)?;
            std::io::copy(&mut input, &mut out)?;
            out.sync_all()
        };
        copy().map_err(|e| {
            failed(format!(
                "cannot write {}: {e}. Nothing was changed.",
                staged.path().display()
            ))
        })?;
        let (version, key_ids) = check(staged.path()).map_err(|e| {
            refused(format!(
                "{} does not hold a sound database: {e}. Nothing was changed.",
                backup.path.display()
            ))
        })?;
        if version != backup.manifest.schema_version {
            return Err(refused(format!(
                "{} says schema {} but its data is at schema {version}. Nothing was changed.",
                backup.path.display(),
                backup.manifest.schema_version
            )));
        }
        if options.check_only {
            return Ok(key_ids);
        }
        if db.exists() {
            refuse_if_in_use(db)?;
        }
        // The old database's side files must not meet the new one: a WAL or hot journal
        // would be applied to pages it does not belong to.
        for side in sqlite_side_files(db) {
            match std::fs::remove_file(&side) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(failed(format!(
                        "cannot remove {}: {e}. The database was not replaced.",
                        side.display()
                    )))
                }
                _ => {}
            }
        }
        staged.persist(db).map_err(|e| {
            failed(format!(
                "cannot move the restored database into place at {}: {e}",
                db.display()
            ))
        })?;
        tracing::info!(db = %db.display(), "database replaced");
        // What is now at the path is what was checked.
        let mut conn = open(db, 10_000)?;
        let now = schema_version(&mut conn).map_err(database_error("reading the restored database"))?;
        if now.as_deref() != Some(version.as_str()) {
            return Err(failed(format!(
                "the restored database at {} reads schema {now:?}, not {version}",
                db.display()
            )));
        }
        Ok(key_ids)
    }

    /// Another connection (the web service, a worker) keeps a WAL database's shared lock
    /// for as long as it is open, so leaving WAL mode fails while anyone has it open.
    fn refuse_if_in_use(db: &Path) -> Result<(), BackupError> {
        let in_use = || {
            refused(format!(
                "{} is in use by another process (the web service or a worker): stop them, then restore. \
                 Nothing was changed.",
                db.display()
            ))
        };
        let mut conn = match open(db, 0) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "the existing database cannot be opened; replacing it");
                return Ok(());
            }
        };
        match diesel::sql_query("PRAGMA journal_mode = DELETE").get_result::<JournalMode>(&mut conn) {
            Ok(mode) if mode.journal_mode.eq_ignore_ascii_case("delete") => Ok(()),
            Ok(_) => Err(in_use()),
            Err(e) => {
                let message = e.to_string();
                if message.contains("locked") || message.contains("busy") {
                    Err(in_use())
                } else {
                    tracing::warn!(error = %message, "the existing database cannot be read; replacing it");
                    Ok(())
                }
            }
        }
    }

    fn same_file(a: &Path, b: &Path) -> bool {
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

mod postgres {
    use super::*;

    const KEY_IDS: &str = "SELECT split_part(sensitive_enc, '.', 2) AS key_id, count(*) AS n FROM clients \
         WHERE sensitive_enc LIKE 'v1.%' GROUP BY 1 ORDER BY 1";

    #[derive(QueryableByName)]
    struct Server {
        #[diesel(sql_type = Text)]
        database: String,
        #[diesel(sql_type = Text)]
        version: String,
        #[diesel(sql_type = Integer)]
        version_num: i32,
    }

    #[derive(QueryableByName)]
    struct Snapshot {
        #[diesel(sql_type = Text)]
        snapshot: String,
    }

    #[derive(QueryableByName)]
    struct Session {
        #[diesel(sql_type = Text)]
        name: String,
    }

    /// A connection to DATABASE_URL and what the client tools need to reach the same database.
    struct Target {
        conn: PgConnection,
        env: Vec<(&'static str, String)>,
        database: String,
        server_version: String,
        server_major: u32,
    }

    impl Target {
        fn connect(url: &str) -> Result<Self, BackupError> {
            let env = libpq_environment(url)?;
            let mut conn = PgConnection::establish(url)
                .map_err(|e| failed(format!("cannot connect to the PostgreSQL database (DATABASE_URL): {e}")))?;
            let server: Server = diesel::sql_query(
                "SELECT current_database()::text AS database, current_setting('server_version') AS version, \
                 current_setting('server_version_num')::int AS version_num",
            )
            .get_result(&mut conn)
            .map_err(database_error("cannot read the server's version"))?;
            Ok(Target {
                conn,
                env,
                database: server.database,
                server_version: server.version,
                server_major: u32::try_from(server.version_num / 10_000).unwrap_or(0),
            })
        }

        /// The client tools' environment: DATABASE_URL's parts (the database itself is named by
        /// [`Self::dbname_arg`]).
        fn command(&self, program: &Path) -> Command {
            let mut command = Command::new(program);
            command
                .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            command
        }

        /// `--dbname` as a conninfo string naming only the database (a plain name with `=` in
        /// it would be read as one); the rest comes from the environment.
        fn dbname_arg(&self) -> String {
            let quoted = self.database.replace('\\', "\\\\").replace('\'', "\\'");
            format!("--dbname=dbname='{quoted}'")
        }
    }

    fn schema_version(conn: &mut PgConnection) -> QueryResult<Option<String>> {
        latest_schema_version(
            conn,
            "SELECT count(*) AS n FROM (SELECT to_regclass('__diesel_schema_migrations') AS t) r WHERE t IS NOT NULL",
        )
    }

    pub(super) fn backup(url: &str, to: &Path) -> Result<Payload, BackupError> {
        let mut target = Target::connect(url)?;
        let tools = PgTools::find(target.server_major, &target.server_version)?;
        // pg_dump reads in this transaction's snapshot, so the version and key ids read here
        // describe exactly the data it dumps.
        target
            .conn
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .map_err(database_error("cannot start the snapshot transaction"))?;
        let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS snapshot")
            .get_result(&mut target.conn)
            .map_err(database_error("cannot export a snapshot for pg_dump"))?;
        let schema_version = schema_version(&mut target.conn)
            .map_err(database_error("cannot read the schema version"))?
            .ok_or_else(|| {
                refused(format!(
                    "the database {} has no salon-crm schema (no migrations table): is DATABASE_URL right?",
                    target.database
                ))
            })?;
        let key_ids = diesel::sql_query(KEY_IDS)
            .load::<KeyCount>(&mut target.conn)
            .map_err(database_error("cannot read the clients"))?;
        let file = TempFile::private_beside(to, "dump")?;
        tracing::info!(pg_dump = %tools.pg_dump.display(), version = %tools.version, "running pg_dump");
        let mut command = target.command(&tools.pg_dump);
        command
            .arg("--format=custom")
            .arg("--no-password")
            .arg(format!("--snapshot={}", snapshot.snapshot))
            .arg(format!("--file={}", file.path().display()))
            .arg(target.dbname_arg());
        let (status, stderr) = run(command, None)?;
        if !status.success() {
            return Err(failed(format!("pg_dump failed ({status}): {}", tail(&stderr))));
        }
        target
            .conn
            .batch_execute("COMMIT")
            .map_err(database_error("cannot end the snapshot transaction"))?;
        Ok(Payload {
            file,
            schema_version,
            key_ids: key_map(key_ids),
            server_version: Some(target.server_version),
            pg_dump_version: Some(tools.version),
        })
    }

    pub(super) fn restore(
        url: &str,
        backup: &BackupFile,
        options: RestoreOptions,
        known: &[String],
        backup_position: usize,
    ) -> Result<(BTreeMap<String, u64>, String), BackupError> {
        let mut target = Target::connect(url)?;
        let tools = PgTools::find(target.server_major, &target.server_version)?;
        if options.check_only {
            let mut command = target.command(&tools.pg_restore);
            command.arg("--list");
            let (status, stderr) = run(command, Some(backup))?;
            if !status.success() {
                return Err(refused(format!(
                    "pg_restore cannot read the archive in {}: {}",
                    backup.path.display(),
                    tail(&stderr)
                )));
            }
            return Ok((backup.manifest.key_ids.clone(), target.database));
        }
        if !options.force {
            let others: Vec<Session> = diesel::sql_query(
                "SELECT coalesce(nullif(application_name, ''), usename::text, 'unknown') AS name \
                 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND backend_type = 'client backend'",
            )
            .load(&mut target.conn)
            .map_err(database_error("cannot list the database's sessions"))?;
            if !others.is_empty() {
                let mut names: Vec<String> = others.into_iter().map(|s| s.name).collect();
                let count = names.len();
                names.sort();
                names.dedup();
                return Err(refused(format!(
                    "{count} other session(s) are connected to the database {} ({}): stop the web service \
                     and the workers first, or pass --force. Nothing was changed.",
                    target.database,
                    names.join(", ")
                )));
            }
        }
        if let Some(current) =
            schema_version(&mut target.conn).map_err(database_error("cannot read the database's schema version"))?
        {
            let newer = schema_position(known, &current).is_none_or(|position| position > backup_position);
            if newer {
                return Err(refused(format!(
                    "the database {} is at schema {current}, newer than the backup's {}: restoring over it would \
                     leave the newer schema's objects behind. Restore into an empty database instead (e.g. \
                     dropdb and createdb, then `web restore`). Nothing was changed.",
                    target.database, backup.manifest.schema_version
                )));
            }
        }
        tracing::info!(pg_restore = %tools.pg_restore.display(), version = %tools.version, "running pg_restore");
        let mut command = target.command(&tools.pg_restore);
        command
            .arg("--clean")
            .arg("--if-exists")
            .arg("--no-owner")
            .arg("--no-privileges")
            .arg("--single-transaction")
            .arg("--exit-on-error")
            .arg("--no-password")
            .arg(target.dbname_arg());
        let (status, stderr) = run(command, Some(backup))?;
        if !status.success() {
            return Err(failed(format!(
                "pg_restore failed ({status}); it ran as one transaction, which was rolled back: the database \
                 was not changed. {}",
                tail(&stderr)
            )));
        }
        let now =
            schema_version(&mut target.conn).map_err(database_error("cannot read the restored schema version"))?;
        if now.as_deref() != Some(backup.manifest.schema_version.as_str()) {
            return Err(failed(format!(
                "the restored database reads schema {now:?}, not the backup's {}",
                backup.manifest.schema_version
            )));
        }
        let key_ids = diesel::sql_query(KEY_IDS)
            .load::<KeyCount>(&mut target.conn)
            .map_err(database_error("cannot read the restored clients"))?;
        Ok((key_map(key_ids), target.database))
    }

    /// Runs `command`, its stdin fed with the backup's payload when given; its status and
    /// standard error.
    fn run(
        mut command: Command,
        stdin: Option<&BackupFile>,
    ) -> Result<(std::process::ExitStatus, String), BackupError> {
        let program = command.get_program().to_string_lossy().into_owned();
        // Opened before the tool starts, so that an unreadable backup leaves no process behind.
        let mut payload = stdin.map(BackupFile::payload_reader).transpose()?;
        if payload.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command
            .spawn()
            .map_err(|e| failed(format!("cannot run {program}: {e}")))?;
        let stderr = child.stderr.take();
        // Drained on its own thread, so a chatty tool never blocks on a full pipe while we
        // write its input.
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stderr) = stderr {
                let _ = stderr.read_to_string(&mut text);
            }
            text
        });
        if let (Some(payload), Some(mut input)) = (payload.as_mut(), child.stdin.take()) {
            match std::io::copy(payload, &mut input) {
                Ok(_) => {}
                // It stopped reading: its exit status and message say why.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(failed(format!("cannot feed the backup to {program}: {e}")));
                }
            }
        }
        let status = child
            .wait()
            .map_err(|e| failed(format!("waiting for {program} failed: {e}")))?;
        let stderr = reader.join().unwrap_or_default();
        Ok((status, stderr))
    }

    /// The last lines a tool wrote, for the error message.
    fn tail(stderr: &str) -> String {
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = lines.len().saturating_sub(12);
        match lines[start..].join("\n") {
            text if text.is_empty() => "(no message)".into(),
            text => text,
        }
    }

    /// `pg_dump` and `pg_restore` of one installation.
    struct PgTools {
        pg_dump: PathBuf,
        pg_restore: PathBuf,
        version: String,
    }

    impl PgTools {
        /// `PG_BIN` if set (only there); otherwise the closest version at or above the
        /// server's among `/usr/lib/postgresql/*/bin` and `PATH`.
        fn find(server_major: u32, server_version: &str) -> Result<Self, BackupError> {
            let explicit = std::env::var_os("PG_BIN").filter(|v| !v.is_empty()).map(PathBuf::from);
            let candidates: Vec<Option<PathBuf>> = match &explicit {
                Some(dir) => vec![Some(dir.clone())],
                None => {
                    let mut dirs: Vec<Option<PathBuf>> = std::fs::read_dir("/usr/lib/postgresql")
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|entry| Some(entry.path().join("bin")))
                        .collect();
                    dirs.push(None);
                    dirs
                }
            };
            let mut found: Vec<(u32, PgTools)> = Vec::new();
            let mut too_old: Vec<String> = Vec::new();
            for dir in candidates {
                let at = |name: &str| dir.as_ref().map_or_else(|| PathBuf::from(name), |d| d.join(name));
                let (pg_dump, pg_restore) = (at("pg_dump"), at("pg_restore"));
                let Some((version, major)) = tool_version(&pg_dump) else {
                    continue;
                };
                if tool_version(&pg_restore).is_none() {
                    continue;
                }
                if major < server_major {
                    too_old.push(format!("{} ({version})", pg_dump.display()));
                    continue;
                }
                found.push((
                    major,
                    PgTools {
                        pg_dump,
                        pg_restore,
                        version,
                    },
                ));
            }
            found.sort_by_key(|(major, _)| *major);
            if let Some((_, tools)) = found.into_iter().next() {
                return Ok(tools);
            }
            let looked = match &explicit {
                Some(dir) => format!("PG_BIN={}", dir.display()),
                None => "/usr/lib/postgresql/*/bin and PATH".into(),
            };
            let old = if too_old.is_empty() {
                String::new()
            } else {
                format!(" (too old: {})", too_old.join(", "))
            };
            Err(refused(format!(
                "no pg_dump and pg_restore of PostgreSQL {server_major} or newer found in {looked}{old}; the \
                 server runs {server_version}. Install the client tools of that version (Debian: \
                 postgresql-client-{server_major}) or set PG_BIN to their bin folder."
            )))
        }
    }

    /// "pg_dump (PostgreSQL) 15.20 (Debian …)" → ("15.20", 15).
    fn tool_version(program: &Path) -> Option<(String, u32)> {
        let output = Command::new(program)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        parse_tool_version(&String::from_utf8_lossy(&output.stdout))
    }

    pub(super) fn parse_tool_version(text: &str) -> Option<(String, u32)> {
        let version = text.split(')').nth(1)?.split_whitespace().next()?;
        let major = version.split(['.', 'b', 'r', 'd']).next()?.parse().ok()?;
        Some((version.to_owned(), major))
    }

    /// DATABASE_URL as the libpq environment variables the client tools read, so that no
    /// password appears on a command line (where `ps` shows it).
    pub(super) fn libpq_environment(url: &str) -> Result<Vec<(&'static str, String)>, BackupError> {
        let parsed = url::Url::parse(url).map_err(|e| {
            refused(format!(
                "DATABASE_URL cannot be read as a URL for pg_dump and pg_restore ({e}); a list of hosts is not \
                 supported here: give one host"
            ))
        })?;
        let mut env = Vec::new();
        let mut set = |name: &'static str, value: String| {
            if !value.is_empty() {
                env.retain(|(k, _): &(&str, String)| *k != name);
                env.push((name, value));
            }
        };
        if let Some(host) = parsed.host_str() {
            set(
                "PGHOST",
                percent_decode(host.trim_start_matches('[').trim_end_matches(']')),
            );
        }
        if let Some(port) = parsed.port() {
            set("PGPORT", port.to_string());
        }
        set("PGUSER", percent_decode(parsed.username()));
        if let Some(password) = parsed.password() {
            set("PGPASSWORD", percent_decode(password));
        }
        set("PGDATABASE", percent_decode(parsed.path().trim_start_matches('/')));
        for (key, value) in parsed.query_pairs() {
            let name = match key.as_ref() {
                "host" => "PGHOST",
                "hostaddr" => "PGHOSTADDR",
                "port" => "PGPORT",
                "user" => "PGUSER",
                "password" => "PGPASSWORD",
                "dbname" => "PGDATABASE",
                "sslmode" => "PGSSLMODE",
                "sslcert" => "PGSSLCERT",
                "sslkey" => "PGSSLKEY",
                "sslrootcert" => "PGSSLROOTCERT",
                "sslcrl" => "PGSSLCRL",
                "sslcompression" => "PGSSLCOMPRESSION",
                "requiressl" => "PGREQUIRESSL",
                "channel_binding" => "PGCHANNELBINDING",
                "gssencmode" => "PGGSSENCMODE",
                "connect_timeout" => "PGCONNECT_TIMEOUT",
                "application_name" => "PGAPPNAME",
                "options" => "PGOPTIONS",
                "target_session_attrs" => "PGTARGETSESSIONATTRS",
                "passfile" => "PGPASSFILE",
                "service" => "PGSERVICE",
                "client_encoding" => "PGCLIENTENCODING",
                other => {
                    return Err(refused(format!(
                        "DATABASE_URL has the parameter {other:?}, which pg_dump and pg_restore cannot be given \
                         by environment variable: use PGSERVICE or drop it"
                    )))
                }
            };
            set(name, value.into_owned());
        }
        Ok(env)
    }

    fn percent_decode(text: &str) -> String {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::postgres::{libpq_environment, parse_tool_version};
    use super::*;

    #[test]
    fn tool_versions() {
        assert_eq!(
            parse_tool_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"),
            Some(("15.20".into(), 15))
        );
        assert_eq!(
            parse_tool_version("pg_restore (PostgreSQL) 17beta2\n"),
            Some(("17beta2".into(), 17))
        );
        assert_eq!(
            parse_tool_version("pg_dump (PostgreSQL) 9.6.24"),
            Some(("9.6.24".into(), 9))
        );
        assert_eq!(parse_tool_version("nonsense"), None);
    }

    #[test]
    fn the_url_becomes_libpq_variables_with_the_password_decoded() {
        let env =
            libpq_environment("postgres://app%40x:p%40ss%2Fw%3Ard@db.example.com:6543/salon?sslmode=require").unwrap();
        let get = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("PGHOST"), Some("db.example.com"));
        assert_eq!(get("PGPORT"), Some("6543"));
        assert_eq!(get("PGUSER"), Some("app@x"));
        assert_eq!(get("PGPASSWORD"), Some("p@ss/w:rd"));
        assert_eq!(get("PGDATABASE"), Some("salon"));
        assert_eq!(get("PGSSLMODE"), Some("require"));

        let socket = libpq_environment("postgresql:///salon?host=/var/run/postgresql&user=crm").unwrap();
        assert!(socket.contains(&("PGHOST", "/var/run/postgresql".into())), "{socket:?}");
        assert!(socket.contains(&("PGUSER", "crm".into())));
        assert!(!socket.iter().any(|(k, _)| *k == "PGPASSWORD"));

        let v6 = libpq_environment("postgres://u@[::1]:5432/d").unwrap();
        assert!(v6.contains(&("PGHOST", "::1".into())), "{v6:?}");

        assert!(matches!(
            libpq_environment("postgres://u@h/d?frobnicate=1"),
            Err(BackupError::Refused(_))
        ));
    }

    #[test]
    fn a_file_that_is_not_a_backup_is_named_for_what_it_is() {
        let dir = std::env::temp_dir().join(format!("salon-backup-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        for (content, expected) in [
            (&b"SQLite format 3\0rest"[..], "plain SQLite database"),
            (&b"PGDMP\x01\x0e"[..], "plain pg_dump archive"),
            (&b"salon-crm backup 9\n{}\n"[..], "newer format"),
            (&b"hello"[..], "not a salon-crm backup"),
            (&b"salon-crm backup 1\n{\"backend\":"[..], "header ends early"),
            (
                &b"salon-crm backup 1\n{\"backend\":\"oracle\"}\n"[..],
                "header cannot be read",
            ),
        ] {
            let path = dir.join("file");
            std::fs::write(&path, content).unwrap();
            let error = BackupFile::open(&path).err().unwrap();
            assert!(matches!(error, BackupError::Refused(_)));
            assert!(error.to_string().contains(expected), "{error}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB (3145728 bytes)");
    }
}
