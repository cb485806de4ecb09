//! Every text value a test's database holds, read straight from the tables: for checks that
//! something is gone everywhere (an erased client's name and phone) or was never stored (a
//! token in clear). Lists every text column of every table from the catalog, so a table or
//! column added later is searched too.

use diesel::connection::Connection;
use diesel::{QueryableByName, RunQueryDsl};

/// One stored value: `table.column` and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredText {
    pub table: String,
    pub column: String,
    pub value: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// Identifiers come from the catalog; quoted all the same.
fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Every non-null value of every text column (SQLite: every column whose declared type is
/// TEXT), skipping diesel's migration bookkeeping.
pub fn read_all(database_url: &str) -> Vec<StoredText> {
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        let mut conn = diesel::SqliteConnection::establish(path).expect("open the SQLite database");
        let columns: Vec<Column> = diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
               AND m.name <> '__diesel_schema_migrations' AND upper(p.type) LIKE '%TEXT%'",
        )
        .load(&mut conn)
        .expect("list SQLite's text columns");
        read(columns, |column| values_query(column).load(&mut conn))
    } else {
        let mut conn = diesel::PgConnection::establish(database_url).expect("connect to PostgreSQL");
        let columns: Vec<Column> = diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
               AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')",
        )
        .load(&mut conn)
        .expect("list PostgreSQL's text columns");
        read(columns, |column| values_query(column).load(&mut conn))
    }
}

/// The query for one column's values.
fn values_query(column: &Column) -> diesel::query_builder::SqlQuery {
    diesel::sql_query(format!(
        "SELECT CAST({col} AS TEXT) AS value FROM {table} WHERE {col} IS NOT NULL",
        col = quoted(&column.column_name),
        table = quoted(&column.table_name),
    ))
}

/// Runs `load` for each column and gathers its values.
fn read(columns: Vec<Column>, mut load: impl FnMut(&Column) -> diesel::QueryResult<Vec<Value>>) -> Vec<StoredText> {
    assert!(!columns.is_empty(), "the database has no text columns: wrong database?");
    let mut found = Vec::new();
    for column in columns {
        let values = load(&column).unwrap_or_else(|e| panic!("read {}.{}: {e}", column.table_name, column.column_name));
        found.extend(values.into_iter().map(|v| StoredText {
            table: column.table_name.clone(),
            column: column.column_name.clone(),
            value: v.value,
        }));
    }
    found
}

/// The stored values that contain any of `needles` (each `table.column: value`).
pub fn containing(stored: &[StoredText], needles: &[&str]) -> Vec<String> {
    stored
        .iter()
        .filter(|s| needles.iter().any(|needle| s.value.contains(needle)))
        .map(|s| format!("{}.{}: {}", s.table, s.column, s.value))
        .collect()
}
