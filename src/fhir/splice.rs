//! A template's serialised JSON with holes: the per-sample fast path.
//!
//! A [`super::observation::Template`] is built with fhir-sdk's typed builders once.
//! It is then serialised once with sentinel values in the four places a sample
//! changes (the `id`, the identifier's `value`, `effective[x]` and the value or
//! component values), and cut at those places into literal pieces. A sample's
//! Observation is the pieces with its own values written in between: no typed
//! resource is built, cloned or dropped per sample. The golden test pins the
//! output to the typed path's, byte for byte.
//!
//! Each hole's needle is a whole `"key":value` pair. Inside a JSON string every `"`
//! is escaped, so a needle (`"…":`) can never match inside vendor text; a needle
//! that is not found exactly once makes [`Pieces::cut`] return `None` and the
//! template uses the typed path instead.

/// One place a sample's own value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hole {
    /// `"id":…`.
    Id,
    /// `"value":…` of the deterministic identifier.
    Identifier,
    /// `"effectiveDateTime":…` (or `"effectivePeriod":…` in its place).
    Effective,
    /// `"value":…` of the n-th quantity (the value, or the n-th component's).
    Value(usize),
}

/// Literal text and holes, alternating: `literals.len() == holes.len() + 1`.
#[derive(Debug, Clone)]
pub(super) struct Pieces {
    literals: Vec<Box<[u8]>>,
    holes: Vec<Hole>,
}

impl Pieces {
    /// Cut `text` at each needle; `None` when a needle is not found exactly once.
    pub(super) fn cut(text: &str, needles: &[(String, Hole)]) -> Option<Self> {
        let mut found = Vec::with_capacity(needles.len());
        for (needle, hole) in needles {
            let mut at = text.match_indices(needle.as_str()).map(|(i, _)| i);
            let first = at.next()?;
            if at.next().is_some() {
                return None;
            }
            found.push((first, first + needle.len(), *hole));
        }
        found.sort_by_key(|&(start, _, _)| start);
        let mut literals = Vec::with_capacity(found.len() + 1);
        let mut holes = Vec::with_capacity(found.len());
        let mut from = 0;
        for (start, end, hole) in found {
            if start < from {
                return None;
            }
            literals.push(text.as_bytes()[from..start].into());
            holes.push(hole);
            from = end;
        }
        literals.push(text.as_bytes()[from..].into());
        Some(Self { literals, holes })
    }

    /// The pieces with `fill` writing each hole into `out`.
    pub(super) fn render<E>(
        &self,
        out: &mut Vec<u8>,
        mut fill: impl FnMut(Hole, &mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        for (literal, hole) in self.literals.iter().zip(&self.holes) {
            out.extend_from_slice(literal);
            fill(*hole, out)?;
        }
        if let Some(last) = self.literals.last() {
            out.extend_from_slice(last);
        }
        Ok(())
    }

    /// Bytes of literal text: a capacity hint for the output.
    pub(super) fn literal_len(&self) -> usize {
        self.literals.iter().map(|l| l.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fill(hole: Hole, out: &mut Vec<u8>) -> Result<(), ()> {
        out.extend_from_slice(match hole {
            Hole::Id => b"\"id\":\"x\"",
            Hole::Value(0) => b"\"value\":1",
            _ => b"?",
        });
        Ok(())
    }

    #[test]
    fn holes_are_filled_in_text_order_and_a_missing_or_repeated_needle_refuses() {
        let needles = [
            ("\"value\":9".to_owned(), Hole::Value(0)),
            ("\"id\":\"S\"".to_owned(), Hole::Id),
        ];
        let p = Pieces::cut(r#"{"id":"S","a":{"value":9}}"#, &needles).unwrap();
        let mut out = Vec::new();
        p.render(&mut out, fill).unwrap();
        assert_eq!(out, br#"{"id":"x","a":{"value":1}}"#);
        assert!(Pieces::cut(r#"{"id":"S"}"#, &needles).is_none());
        assert!(Pieces::cut(r#"{"id":"S","a":[{"value":9},{"value":9}]}"#, &needles).is_none());
        // A needle inside a string value is escaped, so it does not match.
        assert!(Pieces::cut(r#"{"id":"S","t":"\"value\":9"}"#, &needles).is_none());
    }
}
