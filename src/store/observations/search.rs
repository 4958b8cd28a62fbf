//! Searching one member's observations, in pages by keyset on (effective start, id).
//!
//! Dates follow FHIR range semantics: a search value of some precision is the
//! half-open range `[low, high)`; the observation is `[start, end]`. `date=ge…`
//! constrains the end, which no index orders; it is turned into a bounded range on
//! the start with the member's longest stored period (`start >= low - max_span`),
//! so every condition is served by `(member, [code,] start, id)` indexes.

use super::{MemberAccess, Row, Served, ROW};
use crate::db::schema::{observation_codes, observations};
use crate::db::{AnyConnection, MultiBackend};
use crate::store::StoreError;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

/// A FHIR search prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
}

/// One date condition: `prefix` against the range `[low, high)` (Unix µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateBound {
    pub prefix: Prefix,
    pub low: i64,
    pub high: i64,
}

/// A token: `code`, or `system|code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub system: Option<String>,
    pub code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Sort {
    #[default]
    DateAsc,
    DateDesc,
}

/// Where the previous page ended: its last (effective start, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub start: i64,
    pub id: String,
}

/// A search of one member's observations. Empty lists do not filter.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Any of these codes (OR).
    pub codes: Vec<Token>,
    /// Any of these category codes (OR).
    pub categories: Vec<String>,
    /// All of these (AND) on the effective period.
    pub dates: Vec<DateBound>,
    /// All of these (AND) on the last update.
    pub last_updated: Vec<DateBound>,
    pub sort: Sort,
    pub count: usize,
    pub after: Option<Cursor>,
}

/// One page: resources as served, and where the next page starts, if there is one.
#[derive(Debug)]
pub struct Page {
    pub resources: Vec<Served>,
    pub next: Option<Cursor>,
}

type Cond<QS> = Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;

/// Applies the filters every search shares, on the start and id columns given
/// (the code table's copies when searching by code, so that its index serves).
macro_rules! common_filters {
    ($q:expr, $access:expr, $search:expr, $start:expr, $id:expr) => {{
        let mut q = $q
            .filter(observations::member_id.eq($access.member.as_str().to_owned()))
            .filter(any_grant(&$access.grants));
        for b in &$search.dates {
            let (low, high, span) = (b.low, b.high, $access.max_span);
            q = match b.prefix {
                Prefix::Eq => q
                    .filter($start.ge(low))
                    .filter(observations::effective_end.lt(high)),
                Prefix::Ge => q
                    .filter($start.ge(low.saturating_sub(span)))
                    .filter(observations::effective_end.ge(low)),
                Prefix::Gt => q
                    .filter($start.ge(high.saturating_sub(span)))
                    .filter(observations::effective_end.ge(high)),
                Prefix::Le => q.filter($start.lt(high)),
                Prefix::Lt => q.filter($start.lt(low)),
            };
        }
        if !cacheable($access.grants.len(), $search) {
            // A literal makes diesel plan this statement afresh instead of keeping it.
            q = q.filter(sql::<Bool>("TRUE"));
        }
        for b in &$search.last_updated {
            q = q.filter(point(b));
        }
        if !$search.categories.is_empty() {
            q = q.filter(any_category(&$search.categories));
        }
        if let Some(c) = &$search.after {
            let (s, id) = (c.start, c.id.clone());
            q = match $search.sort {
                Sort::DateAsc => q.filter($start.gt(s).or($start.eq(s).and($id.gt(id)))),
                Sort::DateDesc => q.filter($start.lt(s).or($start.eq(s).and($id.lt(id)))),
            };
        }
        q = match $search.sort {
            Sort::DateAsc => q.order(($start.asc(), $id.asc())),
            Sort::DateDesc => q.order(($start.desc(), $id.desc())),
        };
        q.limit(
            i64::try_from($search.count)
                .unwrap_or(i64::MAX)
                .saturating_add(1),
        )
    }};
}

/// A date condition on `last_updated`, a point in time.
fn point<QS>(b: &DateBound) -> Cond<QS>
where
    observations::last_updated: SelectableExpression<QS> + AppearsOnTable<QS>,
    QS: 'static,
{
    let col = observations::last_updated;
    match b.prefix {
        Prefix::Eq => Box::new(col.ge(b.low).and(col.lt(b.high))),
        Prefix::Ge => Box::new(col.ge(b.low)),
        Prefix::Gt => Box::new(col.ge(b.high)),
        Prefix::Le => Box::new(col.lt(b.high)),
        Prefix::Lt => Box::new(col.lt(b.low)),
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The conditions OR-ed (false for none; callers do not filter on an empty list).
fn any_of<QS: 'static>(conds: impl Iterator<Item = Cond<QS>>) -> Cond<QS> {
    conds
        .reduce(|a, b| Box::new(a.or(b)))
        .unwrap_or_else(|| Box::new(sql::<Bool>("1 = 0")))
}

/// The observation's `vendor/data_type` is one of `grants`. Equalities rather than
/// `IN (…)`, which diesel never keeps as a prepared statement on SQLite.
pub(super) fn any_grant<QS>(grants: &[String]) -> Cond<QS>
where
    observations::vendor: SelectableExpression<QS> + AppearsOnTable<QS>,
    observations::data_type: SelectableExpression<QS> + AppearsOnTable<QS>,
    QS: 'static,
{
    any_of(grants.iter().map(|g| -> Cond<QS> {
        Box::new(
            observations::vendor
                .concat("/")
                .concat(observations::data_type)
                .eq(g.clone()),
        )
    }))
}

fn any_category<QS>(codes: &[String]) -> Cond<QS>
where
    observations::categories: SelectableExpression<QS> + AppearsOnTable<QS>,
    QS: 'static,
{
    any_of(codes.iter().map(|c| -> Cond<QS> {
        let pattern = format!("% {} %", like_escape(c));
        Box::new(observations::categories.like(pattern).escape('\\'))
    }))
}

fn any_code<QS>(tokens: &[Token]) -> Cond<QS>
where
    observation_codes::code: SelectableExpression<QS> + AppearsOnTable<QS>,
    observation_codes::system: SelectableExpression<QS> + AppearsOnTable<QS>,
    QS: 'static,
{
    any_of(tokens.iter().map(|t| -> Cond<QS> {
        match &t.system {
            Some(s) => Box::new(
                observation_codes::code
                    .eq(t.code.clone())
                    .and(observation_codes::system.eq(s.clone())),
            ),
            None => Box::new(observation_codes::code.eq(t.code.clone())),
        }
    }))
}

/// How many search shapes a process keeps as prepared statements.
///
/// Diesel keeps each distinct statement text prepared on the connection that ran it,
/// with no bound, and a search's text depends on what the caller asked (how many
/// codes, which date prefixes, ...). So the first `CACHED_SHAPES` shapes this
/// process sees are kept; any other shape is planned per request. Real clients
/// use a handful of shapes; a client inventing shapes costs planning time, not memory.
const CACHED_SHAPES: usize = 64;

static SHAPES: LazyLock<parking_lot::Mutex<HashSet<u64>>> =
    LazyLock::new(|| parking_lot::Mutex::new(HashSet::new()));

/// Whether this search's statement may be kept prepared (see [`CACHED_SHAPES`]).
fn cacheable(grants: usize, search: &Search) -> bool {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for t in &search.codes {
        t.system.is_some().hash(&mut h);
    }
    search.codes.len().hash(&mut h);
    search.categories.len().hash(&mut h);
    for b in &search.dates {
        b.prefix.hash(&mut h);
    }
    search.dates.len().hash(&mut h);
    for b in &search.last_updated {
        b.prefix.hash(&mut h);
    }
    search.last_updated.len().hash(&mut h);
    search.sort.hash(&mut h);
    search.after.is_some().hash(&mut h);
    grants.hash(&mut h);
    let shape = h.finish();
    let mut shapes = SHAPES.lock();
    shapes.contains(&shape) || (shapes.len() < CACHED_SHAPES && shapes.insert(shape))
}

/// One page of `access`'s observations matching `search`.
pub fn search(
    conn: &mut AnyConnection,
    access: &MemberAccess,
    search: &Search,
) -> Result<Page, StoreError> {
    if access.grants.is_empty() {
        return Ok(Page {
            resources: Vec::new(),
            next: None,
        });
    }
    let rows: Vec<(i64, Row)> = if search.codes.is_empty() {
        let q = common_filters!(
            observations::table.into_boxed::<MultiBackend>(),
            access,
            search,
            observations::effective_start,
            observations::id
        );
        q.select((observations::effective_start, ROW)).load(conn)?
    } else {
        let q = common_filters!(
            observation_codes::table
                .inner_join(observations::table)
                .into_boxed::<MultiBackend>()
                .filter(observation_codes::member_id.eq(access.member.as_str().to_owned()))
                .filter(any_code(&search.codes)),
            access,
            search,
            observation_codes::effective_start,
            observation_codes::observation_id
        );
        q.select((observation_codes::effective_start, ROW))
            .load(conn)?
    };
    page(access, search.count, rows)
}

/// Cut the extra row off, drop duplicates (an observation matching two codes), open.
fn page(
    access: &MemberAccess,
    count: usize,
    mut rows: Vec<(i64, Row)>,
) -> Result<Page, StoreError> {
    let next = if rows.len() > count {
        rows.truncate(count);
        rows.last().map(|(start, r)| Cursor {
            start: *start,
            id: r.0.clone(),
        })
    } else {
        None
    };
    let mut seen = std::collections::HashSet::new();
    let mut resources = Vec::with_capacity(rows.len());
    for (_, row) in rows {
        if seen.insert(row.0.clone()) {
            resources.push(access.render(row)?);
        }
    }
    Ok(Page { resources, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bounded_number_of_shapes_is_kept_prepared() {
        let search = Search::default();
        // Grant counts no real member has, so other tests' shapes do not interfere.
        let shapes: Vec<usize> = (10_000..10_000 + 2 * CACHED_SHAPES).collect();
        let first: Vec<bool> = shapes.iter().map(|&g| cacheable(g, &search)).collect();
        assert!(first.iter().any(|kept| !kept), "every shape was kept");
        assert!(SHAPES.lock().len() <= CACHED_SHAPES);
        // A kept shape stays kept; one refused stays refused.
        for (&g, &kept) in shapes.iter().zip(&first) {
            assert_eq!(cacheable(g, &search), kept, "shape {g}");
        }
    }
}
