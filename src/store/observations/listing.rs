//! A member's observations in keyset pages with the grant each was stored under,
//! for readers that enforce consent again on their side (the member export).

use super::search::any_grant;
use super::{Cursor, MemberAccess, Row, Served, ROW};
use crate::db::schema::observations;
use crate::db::{AnyConnection, MultiBackend};
use crate::store::StoreError;
use diesel::prelude::*;

/// An observation as served, with the vendor and data type it was stored under.
#[derive(Debug)]
pub struct Listed {
    pub vendor: String,
    pub data_type: String,
    pub served: Served,
}

/// Up to `limit` of the member's observations of data types `access` holds, in
/// (effective start, id) order after `after`; the cursor of the next page, if any.
pub fn page_with_grants(
    conn: &mut AnyConnection,
    access: &MemberAccess,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<(Vec<Listed>, Option<Cursor>), StoreError> {
    if access.grants.is_empty() || limit == 0 {
        return Ok((Vec::new(), None));
    }
    let mut q = observations::table
        .into_boxed::<MultiBackend>()
        .filter(observations::member_id.eq(access.member.as_str().to_owned()))
        .filter(any_grant(&access.grants));
    if let Some(c) = after {
        let (s, id) = (c.start, c.id.clone());
        q = q.filter(
            observations::effective_start
                .gt(s)
                .or(observations::effective_start
                    .eq(s)
                    .and(observations::id.gt(id))),
        );
    }
    let rows: Vec<(i64, String, String, Row)> = q
        .order((observations::effective_start.asc(), observations::id.asc()))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select((
            observations::effective_start,
            observations::vendor,
            observations::data_type,
            ROW,
        ))
        .load(conn)?;
    let next = (rows.len() == limit)
        .then(|| {
            rows.last().map(|(start, _, _, r)| Cursor {
                start: *start,
                id: r.0.clone(),
            })
        })
        .flatten();
    let listed = rows
        .into_iter()
        .map(|(_, vendor, data_type, row)| {
            Ok(Listed {
                vendor,
                data_type,
                served: access.render(row)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((listed, next))
}
