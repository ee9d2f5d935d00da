//! Errors as HTTP responses, so handlers use `?`: [`PageError`] for the HTML console (the login
//! page when unauthenticated, an error page otherwise) and [`ApiError`] for `/api` (a JSON
//! `{"error", "message"}` body).
//!
//! The one idea to hold in mind: both map an [`AdjudicationError`] to the same status, and
//! neither shows an internal error's cause to the user: it goes to the operator's log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use minijinja::context;

use crate::error::AdjudicationError;

/// An error of an HTML page handler.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(pub AdjudicationError);

/// An error of a JSON API handler.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub AdjudicationError);

impl From<AdjudicationError> for PageError {
    fn from(e: AdjudicationError) -> Self {
        PageError(e)
    }
}

impl From<AdjudicationError> for ApiError {
    fn from(e: AdjudicationError) -> Self {
        ApiError(e)
    }
}

/// The HTTP status of an error.
pub fn status_of(e: &AdjudicationError) -> StatusCode {
    match e {
        AdjudicationError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AdjudicationError::Forbidden(_) => StatusCode::FORBIDDEN,
        AdjudicationError::NotFound(_) => StatusCode::NOT_FOUND,
        AdjudicationError::Conflict(_) => StatusCode::CONFLICT,
        AdjudicationError::BadRequest(_) => StatusCode::BAD_REQUEST,
        AdjudicationError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        AdjudicationError::Tampered(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What the user is told: the error itself, except for internal errors, which are logged.
pub fn public_message(e: &AdjudicationError) -> String {
    match status_of(e) {
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!(error = %e, "request failed");
            "internal error; the operator's log has the details".into()
        }
        _ => e.to_string(),
    }
}

impl PageError {
    /// The error page in `lang` (none for the redirect to the login page): a heading and an
    /// explanation for the status in the user's language, and the error's own detail.
    pub fn page(&self, lang: super::i18n::Lang) -> Option<String> {
        if let AdjudicationError::Unauthenticated(_) = self.0 {
            return None;
        }
        let status = status_of(&self.0);
        super::templates()
            .get_template("error.html")
            .and_then(|t| {
                t.render(context! {
                    lang => lang.code(),
                    here => "%2Fqueue",
                    status => status.as_u16(),
                    message => public_message(&self.0),
                })
            })
            .ok()
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            AdjudicationError::Unauthenticated(_) => StatusCode::SEE_OTHER,
            ref e => status_of(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AdjudicationError::Unauthenticated(_) = self.0 {
            return super::pages::redirect("/login");
        }
        let status = status_of(&self.0);
        // In the default language; [`super::i18n::localise_errors`] renders it again in the
        // user's.
        let body = self
            .page(super::i18n::Lang::default())
            .unwrap_or_else(|| "error".into());
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        let status = status_of(&self.0);
        let kind = match status {
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::TOO_MANY_REQUESTS => "too_many_attempts",
            _ => "internal",
        };
        HttpResponse::build(status)
            .json(serde_json::json!({ "error": kind, "message": public_message(&self.0) }))
    }
}
