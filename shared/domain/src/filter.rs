//! Subscription content filters: EventBridge-style event patterns over the delivered envelope.
//!
//! Matching is done by `quamina` (exact, prefix, suffix, wildcard, anything-but, numeric,
//! exists, equals-ignore-case). quamina has no `$or`, so a pattern with `$or` is expanded into
//! its alternatives, each added under the same id: any alternative matching is a match, which
//! is exactly EventBridge's `$or` semantics.

use quamina::Quamina;
use serde_json::{Map, Value};

use crate::error::ValidationError;

/// Most alternatives one pattern may expand into.
const MAX_ALTERNATIVES: usize = 64;
/// Largest pattern text.
const MAX_PATTERN_BYTES: usize = 8 * 1024;

/// A compiled filter.
pub struct Filter {
    matcher: Quamina<u8>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Filter")
    }
}

impl Filter {
    /// Compiles a pattern, refusing malformed ones with a field error on `filter`.
    pub fn compile(pattern: &Value) -> Result<Filter, ValidationError> {
        let bad = |m: String| ValidationError::invalid("filter", m);
        let text = pattern.to_string();
        if text.len() > MAX_PATTERN_BYTES {
            return Err(bad(format!("at most {MAX_PATTERN_BYTES} bytes")));
        }
        let Value::Object(obj) = pattern else {
            return Err(bad("a pattern is a JSON object".into()));
        };
        if obj.is_empty() {
            return Err(bad(
                "an empty pattern matches everything; omit the filter instead".into(),
            ));
        }
        let alternatives = expand(obj).map_err(|e| bad(e.to_string()))?;
        let mut matcher = Quamina::new();
        for alt in alternatives {
            let p = Value::Object(alt).to_string();
            matcher
                .add_pattern(0u8, &p)
                .map_err(|e| bad(format!("not a valid event pattern: {e}")))?;
        }
        Ok(Filter { matcher })
    }

    /// Whether the envelope (JSON bytes) matches.
    pub fn matches(&self, envelope: &[u8]) -> bool {
        self.matcher.has_matches(envelope).unwrap_or(false)
    }
}

/// Why a pattern's `$or` cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum OrError {
    /// `$or` holds something other than an array.
    #[error("$or takes an array of patterns")]
    NotAnArray,
    /// `$or` holds fewer than two patterns.
    #[error("$or takes at least two patterns")]
    TooFewBranches,
    /// A branch of `$or` is not a pattern.
    #[error("each $or branch is a JSON object")]
    BranchNotAnObject,
    /// The alternatives multiply past [`MAX_ALTERNATIVES`].
    #[error("$or expands to more than {MAX_ALTERNATIVES} alternatives")]
    TooManyAlternatives,
}

/// Expands `$or` into a list of `$or`-free patterns.
fn expand(obj: &Map<String, Value>) -> Result<Vec<Map<String, Value>>, OrError> {
    let mut acc: Vec<Map<String, Value>> = vec![Map::new()];
    for (k, v) in obj {
        if k == "$or" {
            let Value::Array(branches) = v else {
                return Err(OrError::NotAnArray);
            };
            if branches.len() < 2 {
                return Err(OrError::TooFewBranches);
            }
            let mut alts = Vec::new();
            for b in branches {
                let Value::Object(bo) = b else {
                    return Err(OrError::BranchNotAnObject);
                };
                alts.extend(expand(bo)?);
            }
            acc = product(&acc, &alts)?;
        } else if let Value::Object(inner) = v {
            let subs: Vec<Map<String, Value>> = expand(inner)?
                .into_iter()
                .map(|s| {
                    let mut m = Map::new();
                    m.insert(k.clone(), Value::Object(s));
                    m
                })
                .collect();
            acc = product(&acc, &subs)?;
        } else {
            for a in &mut acc {
                a.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(acc)
}

fn product(
    left: &[Map<String, Value>],
    right: &[Map<String, Value>],
) -> Result<Vec<Map<String, Value>>, OrError> {
    if left.len() * right.len() > MAX_ALTERNATIVES {
        return Err(OrError::TooManyAlternatives);
    }
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in left {
        for r in right {
            let mut m = l.clone();
            merge(&mut m, r);
            out.push(m);
        }
    }
    Ok(out)
}

fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(p: Value, e: Value) -> bool {
        Filter::compile(&p)
            .expect("pattern")
            .matches(e.to_string().as_bytes())
    }

    #[test]
    fn exact_prefix_numeric_anything_but_exists() {
        let e = json!({"type": "LotDispatched", "state": "AP", "data": {"status": "dispatched", "qty": 40, "lotNo": "L-1"}});
        assert!(m(json!({"data": {"status": ["dispatched"]}}), e.clone()));
        assert!(!m(json!({"data": {"status": ["received"]}}), e.clone()));
        assert!(m(json!({"data": {"lotNo": [{"prefix": "L-"}]}}), e.clone()));
        assert!(m(
            json!({"data": {"qty": [{"numeric": [">", 10, "<=", 40]}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"data": {"qty": [{"numeric": [">", 40]}]}}),
            e.clone()
        ));
        assert!(m(json!({"state": [{"anything-but": ["TG"]}]}), e.clone()));
        assert!(m(
            json!({"data": {"missing": [{"exists": false}]}}),
            e.clone()
        ));
    }

    #[test]
    fn or_matches_when_any_branch_matches() {
        let p = json!({"type": ["LotDispatched"], "$or": [{"data": {"qty": [{"numeric": [">", 100]}]}}, {"data": {"status": ["dispatched"]}}]});
        assert!(m(
            p.clone(),
            json!({"type": "LotDispatched", "data": {"qty": 1, "status": "dispatched"}})
        ));
        assert!(m(
            p.clone(),
            json!({"type": "LotDispatched", "data": {"qty": 500, "status": "x"}})
        ));
        assert!(!m(
            p.clone(),
            json!({"type": "LotDispatched", "data": {"qty": 1, "status": "x"}})
        ));
        assert!(!m(
            p,
            json!({"type": "LotReceived", "data": {"qty": 500, "status": "dispatched"}})
        ));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(Filter::compile(&json!([1])).is_err());
        assert!(Filter::compile(&json!({})).is_err());
        assert!(Filter::compile(&json!({"data": "x"})).is_err());
        assert!(Filter::compile(&json!({"$or": [{"a": ["b"]}]})).is_err());
    }

    #[test]
    fn each_malformed_or_is_named() {
        let expand = |p: Value| expand(p.as_object().expect("object"));
        assert_eq!(
            expand(json!({"$or": {"a": ["b"]}})),
            Err(OrError::NotAnArray)
        );
        assert_eq!(
            expand(json!({"$or": [{"a": ["b"]}]})),
            Err(OrError::TooFewBranches)
        );
        assert_eq!(
            expand(json!({"$or": [{"a": ["b"]}, 3]})),
            Err(OrError::BranchNotAnObject)
        );
        let nine: Vec<Value> = (0..9).map(|i| json!({"a": [i]})).collect();
        assert_eq!(
            expand(json!({"x": {"$or": nine}, "y": {"$or": nine}})),
            Err(OrError::TooManyAlternatives)
        );
        // The field error a portal reads.
        let err = Filter::compile(&json!({"$or": [{"a": ["b"]}]})).expect_err("one branch");
        assert_eq!(err.detail, "filter: $or takes at least two patterns");
        let err = Filter::compile(&json!({"x": {"$or": nine}, "y": {"$or": nine}}))
            .expect_err("too many");
        assert_eq!(
            err.detail,
            "filter: $or expands to more than 64 alternatives"
        );
    }
}
