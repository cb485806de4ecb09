//! The few statements that differ between the backends, each written out for both.

use super::AnyConnection;
use diesel::query_builder::InsertStatement;
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::{Insertable, PgConnection, RunQueryDsl, SqliteConnection, Table};

/// A multi-row `INSERT … VALUES (…), (…)`: the MultiConnection cannot express it, each
/// backend can. Callers keep a batch under SQLite's 32,766 bound parameters.
pub fn insert_batch<T, V>(conn: &mut AnyConnection, table: T, rows: V) -> diesel::QueryResult<usize>
where
    T: Table,
    V: Insertable<T>,
    InsertStatement<T, V::Values>: ExecuteDsl<PgConnection> + ExecuteDsl<SqliteConnection>,
{
    match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(table).values(rows).execute(pg),
        AnyConnection::Sqlite(sqlite) => diesel::insert_into(table).values(rows).execute(sqlite),
    }
}
