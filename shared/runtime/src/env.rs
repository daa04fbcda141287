//! The one reader of the environment: every `HOOKLINE_*` variable of the Lambda functions and
//! of the local runner is read through [`Env`], so that a value means the same wherever it is
//! set. A variable set to nothing but blanks counts as unset. Flags take `true`/`false`,
//! `1`/`0`, `yes`/`no` and `on`/`off` in any case; numbers are whole; durations are whole
//! seconds. A value outside a variable's range is brought to its nearest bound, as the table in
//! the crate's documentation says; a value that does not parse is an [`EnvError`] naming the
//! variable. An error quotes the value it refused unless the variable's name ends in `SECRET`.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// A variable that is missing (where one is required) or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct EnvError {
    name: &'static str,
    reason: String,
}

impl EnvError {
    /// `name` is unusable for `reason` (which must not quote a secret).
    pub fn new(name: &'static str, reason: impl Into<String>) -> EnvError {
        EnvError {
            name,
            reason: reason.into(),
        }
    }

    /// The variable.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `value` of `name` is not `expected`.
    fn refused(name: &'static str, value: &str, expected: &str) -> EnvError {
        let shown = if name.ends_with("SECRET") {
            "the value".to_string()
        } else {
            format!("'{value}'")
        };
        EnvError::new(name, format!("{shown} is not {expected}"))
    }
}

/// Where variables are read from: the process's environment, or fixed pairs (tests).
#[derive(Debug, Clone)]
pub struct Env {
    /// `None`: the process's environment.
    fixed: Option<BTreeMap<String, String>>,
}

impl Env {
    /// The process's environment.
    pub fn process() -> Env {
        Env { fixed: None }
    }

    /// Exactly these variables, and no other.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            fixed: Some(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The value of `name` as set (not trimmed), if it is set to more than blanks.
    pub fn text(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            None => std::env::var(name).ok(),
            Some(vars) => vars.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`, which must be set.
    pub fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.text(name)
            .ok_or_else(|| EnvError::new(name, "is not set"))
    }

    /// `name` (trimmed) through `parse`, whose error says what was expected; `None` if unset.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, EnvError> {
        self.text(name)
            .map(|v| parse(v.trim()).map_err(|reason| EnvError::new(name, reason.to_string())))
            .transpose()
    }

    /// A value of a type that parses itself (`what` names it in an error); `default` if unset.
    pub fn value<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        what: &str,
    ) -> Result<T, EnvError> {
        Ok(self.optional(name, what)?.unwrap_or(default))
    }

    /// A value of a type that parses itself, if set.
    fn optional<T: FromStr>(&self, name: &'static str, what: &str) -> Result<Option<T>, EnvError> {
        self.text(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| EnvError::refused(name, &v, what))
            })
            .transpose()
    }

    /// A flag: `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off`, in any case.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, EnvError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(EnvError::refused(name, &v, "true or false")),
            },
        }
    }

    /// A whole number, `default` if unset, brought into `range`.
    pub fn number<T: FromStr + Ord + Copy>(
        &self,
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
    ) -> Result<T, EnvError> {
        self.clamped(name, default, range, "a whole number")
    }

    /// [`Env::value`], brought into `range`.
    fn clamped<T: FromStr + Ord + Copy>(
        &self,
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
        what: &str,
    ) -> Result<T, EnvError> {
        let n = self.value(name, default, what)?;
        Ok(n.clamp(*range.start(), *range.end()))
    }

    /// A whole number if set (no default: the caller keeps its own).
    pub fn optional_number<T: FromStr>(&self, name: &'static str) -> Result<Option<T>, EnvError> {
        self.optional(name, "a whole number")
    }

    /// A duration in whole seconds, `default_secs` if unset, brought into `range` (seconds).
    pub fn secs(
        &self,
        name: &'static str,
        default_secs: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, EnvError> {
        let n = self.clamped(name, default_secs, range, "a whole number of seconds")?;
        Ok(Duration::from_secs(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str, value: &str) -> Env {
        Env::from_pairs([(name, value)])
    }

    #[test]
    fn flags_take_every_spelling_in_any_case_and_refuse_the_rest() {
        for yes in ["true", "TRUE", "1", "yes", "Yes", "on", " ON "] {
            assert_eq!(
                env("HOOKLINE_X", yes).flag("HOOKLINE_X", false),
                Ok(true),
                "{yes}"
            );
        }
        for no in ["false", "False", "0", "no", "NO", "off", "Off"] {
            assert_eq!(
                env("HOOKLINE_X", no).flag("HOOKLINE_X", true),
                Ok(false),
                "{no}"
            );
        }
        let e = env("HOOKLINE_X", "maybe")
            .flag("HOOKLINE_X", false)
            .expect_err("not a flag");
        assert_eq!(e.to_string(), "HOOKLINE_X: 'maybe' is not true or false");
        assert_eq!(e.name(), "HOOKLINE_X");
    }

    #[test]
    fn unset_and_blank_take_the_default() {
        let none = Env::from_pairs::<&str, &str>([]);
        assert_eq!(none.flag("HOOKLINE_X", true), Ok(true));
        assert_eq!(none.number("HOOKLINE_X", 7u32, 1..=10), Ok(7));
        let blank = env("HOOKLINE_X", "  ");
        assert_eq!(blank.flag("HOOKLINE_X", false), Ok(false));
        assert_eq!(blank.text("HOOKLINE_X"), None);
        assert_eq!(
            blank.required("HOOKLINE_X").expect_err("blank").to_string(),
            "HOOKLINE_X: is not set"
        );
        assert_eq!(blank.optional_number::<u32>("HOOKLINE_X"), Ok(None));
    }

    #[test]
    fn numbers_and_durations_parse_whole_and_are_brought_into_range() {
        let e = env("HOOKLINE_N", " 5000 ");
        assert_eq!(e.number("HOOKLINE_N", 60u32, 1..=1000), Ok(1000));
        assert_eq!(
            e.secs("HOOKLINE_N", 900, 60..=86_400),
            Ok(Duration::from_secs(5000))
        );
        assert_eq!(
            env("HOOKLINE_N", "0").secs("HOOKLINE_N", 900, 60..=86_400),
            Ok(Duration::from_secs(60))
        );
        for bad in ["-1", "1.5", "5m", "ten"] {
            let e = env("HOOKLINE_N", bad)
                .number("HOOKLINE_N", 1u64, 0..=10)
                .expect_err(bad);
            assert_eq!(
                e.to_string(),
                format!("HOOKLINE_N: '{bad}' is not a whole number")
            );
            let e = env("HOOKLINE_N", bad)
                .secs("HOOKLINE_N", 1, 0..=10)
                .expect_err(bad);
            assert!(e.to_string().contains("whole number of seconds"), "{e}");
        }
    }

    #[test]
    fn an_error_never_quotes_a_secret() {
        let e = env("HOOKLINE_ADMIN_CLIENT_SECRET", "hunter2-hunter2-hunter2")
            .value::<u32>("HOOKLINE_ADMIN_CLIENT_SECRET", 0, "a whole number")
            .expect_err("not a number");
        let text = e.to_string();
        assert!(text.starts_with("HOOKLINE_ADMIN_CLIENT_SECRET: "), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn a_parse_function_says_what_it_expected() {
        let e = env("HOOKLINE_MODE", "loud");
        let parsed = e.parsed("HOOKLINE_MODE", |v| match v {
            "quiet" => Ok(()),
            other => Err(format!("'{other}' is not quiet")),
        });
        assert_eq!(
            parsed.expect_err("loud").to_string(),
            "HOOKLINE_MODE: 'loud' is not quiet"
        );
        let unset = Env::from_pairs::<&str, &str>([]);
        assert_eq!(
            unset.parsed("HOOKLINE_MODE", |_| Ok::<_, String>(1)),
            Ok(None)
        );
    }
}
