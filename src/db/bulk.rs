//! Multi-row INSERTs on both backends.
//!
//! diesel's batch insert does not go through a `MultiConnection` for SQLite (it needs
//! the concrete backend to avoid `DEFAULT`), so bulk writes build
//! `INSERT … VALUES (…), (…)` here. Placeholders are written `$1, $2, …` in order:
//! PostgreSQL's positional form, which SQLite reads as named parameters numbered by
//! first appearance — the same positions. Column and table names come from the
//! caller's constants, never from input; values are always bound.

use super::{AnyConnection, MultiBackend};
use diesel::sql_types::{BigInt, Binary, Text};
use diesel::RunQueryDsl;

/// One bound value.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(&'a str),
    BigInt(i64),
    Binary(&'a [u8]),
}

/// Insert `rows` (each with one value per column) into `table` with one statement.
pub fn insert_rows(
    conn: &mut AnyConnection,
    table: &'static str,
    columns: &[&'static str],
    rows: &[Vec<Value<'_>>],
) -> diesel::QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut text = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for (i, row) in rows.iter().enumerate() {
        text.push_str(if i == 0 { "(" } else { ", (" });
        for j in 0..row.len() {
            n += 1;
            text.push_str(&format!("{}${n}", if j == 0 { "" } else { ", " }));
        }
        text.push(')');
    }
    let mut q = diesel::sql_query(text).into_boxed::<MultiBackend>();
    for row in rows {
        for v in row {
            q = match *v {
                Value::Text(s) => q.bind::<Text, _>(s.to_owned()),
                Value::BigInt(x) => q.bind::<BigInt, _>(x),
                Value::Binary(b) => q.bind::<Binary, _>(b.to_vec()),
            };
        }
    }
    q.execute(conn)
}
