//! What the domain's rules refuse, in words a person can act on. No status codes, no HTML:
//! the web layer decides how each is shown.

use serde::Serialize;

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as sent (`quantity`).
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Why a use case did not do what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// Input that breaks a rule, field by field.
    #[error("{}", summarize(.0))]
    Invalid(Vec<FieldError>),
    /// Nothing of that name or id is the owner's (whether or not it exists for someone else).
    #[error("{0}")]
    NotFound(String),
    /// It exists already: `existing_id` names the holding or entry that has it.
    #[error("{message}")]
    Conflict {
        message: String,
        existing_id: Option<i64>,
    },
    /// Input that reads well but disagrees with how things stand, field by field: a date after
    /// today, a currency other than the asset's. The same request may be accepted later or
    /// for another asset, so the API answers 409, not 422.
    #[error("{}", summarize(.0))]
    Mismatch(Vec<FieldError>),
    /// The change would leave something inconsistent (selling more than is held, a quantity
    /// its transactions decide edited by hand); the text says why.
    #[error("{0}")]
    Refused(String),
    /// A request that cannot be understood as asked (a column that is not in the file).
    #[error("{0}")]
    Malformed(String),
    /// Prices cannot be had right now; the text names what was tried.
    #[error("{0}")]
    Unavailable(String),
}

impl DomainError {
    /// One field's problem.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Collects field problems while a form or body is parsed, so every problem is reported at
/// once rather than the first only.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>, usize);

impl Problems {
    /// Keeps the value, or records the problem under the field's name.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result
            .map_err(|e| self.0.push(FieldError::new(field, e.to_string())))
            .ok()
    }

    /// Like [`Problems::check`], for a rule that depends on how things stand (today's date,
    /// the asset's currency): when every problem is of this kind the answer is
    /// [`DomainError::Mismatch`].
    pub fn check_state<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        let before = self.0.len();
        let value = self.check(field, result);
        self.1 += self.0.len() - before;
        value
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else every problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, DomainError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ if !self.0.is_empty() && self.1 == self.0.len() => Err(DomainError::Mismatch(self.0)),
            _ => Err(DomainError::Invalid(self.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_of_state_alone_are_a_mismatch_and_any_other_makes_them_invalid() {
        let mut p = Problems::default();
        p.check_state("date", Err::<(), _>("Date 2999-01-01 is in the future."));
        assert!(matches!(p.finish(Some(())), Err(DomainError::Mismatch(e)) if e.len() == 1));

        let mut p = Problems::default();
        p.check_state("date", Err::<(), _>("Date 2999-01-01 is in the future."));
        p.check("notes", Err::<(), _>("No control characters."));
        assert!(matches!(p.finish(Some(())), Err(DomainError::Invalid(e)) if e.len() == 2));

        let mut p = Problems::default();
        assert_eq!(p.check_state("date", Ok::<_, String>(5)), Some(5));
        assert_eq!(p.finish(Some(1)), Ok(1));
    }
}
