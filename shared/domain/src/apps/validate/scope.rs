//! What each template of a definition may name. A template is rendered with one context
//! (an action's request sees the event, its inputs, the connection's properties, the
//! version's environment and the search's item; a token URL only properties and environment);
//! a name outside it, or a member nobody declared (`props.locaton_id`), is refused at
//! publication instead of failing every delivery later.

use std::collections::{BTreeMap, BTreeSet};

use super::problems::Problems;
use crate::apps::{AppDefinition, FieldSpec};
use crate::template;

/// The members of one context variable.
#[derive(Debug, Clone)]
enum Members {
    /// Any member (the search's item, a cursor value).
    Any,
    /// Only these, each a `what`.
    Only {
        what: &'static str,
        names: BTreeSet<String>,
    },
}

/// The variables one template may name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    roots: BTreeMap<&'static str, Members>,
}

/// The envelope's fields, as an action's templates see `event`.
const ENVELOPE_FIELDS: [&str; 6] = ["id", "type", "state", "timestamp", "source", "data"];
/// The connection's fields its templates see.
const CONNECTION_FIELDS: [&str; 3] = ["id", "name", "state"];

fn only(what: &'static str, names: impl IntoIterator<Item = impl Into<String>>) -> Members {
    Members::Only {
        what,
        names: names.into_iter().map(Into::into).collect(),
    }
}

fn keys(fields: &[FieldSpec]) -> Vec<String> {
    fields.iter().map(|f| f.key.clone()).collect()
}

impl Scope {
    fn with(mut self, root: &'static str, members: Members) -> Self {
        self.roots.insert(root, members);
        self
    }

    /// `props` and `env` of `def`.
    fn base(def: &AppDefinition) -> Self {
        Scope::default()
            .with("props", only("property", keys(&def.properties)))
            .with("env", only("environment variable", keys_env(def)))
    }

    /// A token URL: `props`, `env`.
    pub(crate) fn token_url(def: &AppDefinition) -> Self {
        Scope::base(def)
    }

    /// A login request or a hook's secret: `props`, `env`, `credentials`.
    pub(crate) fn with_credentials(def: &AppDefinition) -> Self {
        Scope::base(def).with(
            "credentials",
            only("credential", keys(&def.auth.credential_fields())),
        )
    }

    /// A session's header value: `session.token`.
    pub(crate) fn session() -> Self {
        Scope::default().with("session", only("session field", ["token"]))
    }

    /// A test or polling request: `props`, `env`, `connection`, `cursor`.
    pub(crate) fn poll(def: &AppDefinition) -> Self {
        Scope::base(def)
            .with("connection", only("connection field", CONNECTION_FIELDS))
            .with("cursor", Members::Any)
    }

    /// An action's request: `event`, `input` (its inputs), `props`, `env`, `connection`, and
    /// `found` when it searches first.
    pub(crate) fn action(def: &AppDefinition, inputs: &[FieldSpec], searches: bool) -> Self {
        let scope = Scope::base(def)
            .with("event", only("envelope field", ENVELOPE_FIELDS))
            .with("input", only("input of this action", keys(inputs)))
            .with("connection", only("connection field", CONNECTION_FIELDS));
        if searches {
            scope.with("found", Members::Any)
        } else {
            scope
        }
    }

    /// A workflow step's input value: `event`.
    pub(crate) fn workflow_input() -> Self {
        Scope::default().with("event", only("envelope field", ENVELOPE_FIELDS))
    }

    /// Checks the template `source` of field `field`: it parses, uses no refused construct,
    /// and names only this scope's variables.
    pub(crate) fn check(&self, problems: &mut Problems, field: &str, source: &str) {
        let names = match template::referenced_variables(source) {
            Ok(names) => names,
            Err(e) => return problems.template(field, &e),
        };
        for name in names {
            if let Some(message) = self.refuses(&name) {
                problems.add_with(
                    crate::subscription::INVALID_TEMPLATE,
                    crate::error::FieldError::new(field, message),
                );
            }
        }
    }

    /// Why `name` (`root` or `root.member`) may not be named here, if it may not.
    fn refuses(&self, name: &str) -> Option<String> {
        let (root, member) = match name.split_once('.') {
            Some((root, member)) => (root, Some(member)),
            None => (name, None),
        };
        let Some(members) = self.roots.get(root) else {
            let seen: Vec<&str> = self.roots.keys().copied().collect();
            return Some(format!(
                "`{root}` is not available in this template (it sees {})",
                if seen.is_empty() {
                    "nothing".to_string()
                } else {
                    seen.join(", ")
                }
            ));
        };
        match (members, member) {
            (Members::Only { what, names }, Some(member)) if !names.contains(member) => {
                Some(format!("`{root}.{member}` is not a declared {what}"))
            }
            _ => None,
        }
    }
}

fn keys_env(def: &AppDefinition) -> Vec<String> {
    def.environment.iter().map(|e| e.key.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(scope: &Scope, source: &str) -> Vec<String> {
        let mut p = Problems::default();
        scope.check(&mut p, "f", source);
        p.finish()
            .err()
            .map(|e| e.errors.into_iter().map(|e| e.message).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_name_outside_the_scope_or_an_undeclared_member_is_refused() {
        let scope = Scope::default()
            .with("props", only("property", ["location_id"]))
            .with("found", Members::Any);
        assert!(messages(&scope, "{{ props.location_id }}{{ found.x.y }}{{ props }}").is_empty());
        assert_eq!(
            messages(&scope, "{{ props.locaton_id }}"),
            ["`props.locaton_id` is not a declared property"]
        );
        assert_eq!(
            messages(&scope, "{{ env.X }}"),
            ["`env` is not available in this template (it sees found, props)"]
        );
        assert_eq!(messages(&scope, "{{ props. }}").len(), 1, "syntax");
    }
}
