//! What a provider's body may be: the most of it that is read, and what makes it no JSON
//! document at all. Shared by the answer's checks and the errors that report them.

/// The most of a body that is read. Real answers are a few hundred bytes; an exchange or its
/// CDN can send megabytes of HTML.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A body that is not a JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyProblem {
    #[error("empty body")]
    Empty,
    #[error("HTML page instead of JSON")]
    Html,
    #[error("truncated JSON")]
    Truncated,
    #[error("not JSON")]
    NotJson,
    #[error("body larger than {} KiB", MAX_BODY_BYTES / 1024)]
    TooLarge,
}
