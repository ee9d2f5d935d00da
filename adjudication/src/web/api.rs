//! The JSON API under `/api` (described in `/api/openapi.yaml`): the console's operations for
//! scripts and other front ends, over the same view models as the HTML pages.
//!
//! The one idea to hold in mind: an API client logs in once, keeps the session cookie and
//! sends the session's CSRF token as `X-CSRF-Token` on every POST (checked by the
//! [`Authenticated`] extractor); errors are `{"error", "message"}` with the matching status.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::actions::{run_action, ActionInput};
use super::auth::{self, Authenticated};
use super::error::ApiError;
use super::pages::AuditQuery;
use super::view::{read_audit, view_case};
use super::{AppState, OPENAPI_YAML, SESSION_COOKIE};
use crate::error::AdjudicationError;
use crate::store::{AuditAction, QueueFilter, Session};

/// What an API handler returns.
type Api = std::result::Result<HttpResponse, ApiError>;

/// Registers the `/api` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.yaml", web::get().to(openapi))
        .route("/api/login", web::post().to(login))
        .route("/api/logout", web::post().to(logout))
        .route("/api/me", web::get().to(me))
        .route("/api/cases", web::get().to(queue))
        .route("/api/cases/{case_id}", web::get().to(case))
        .route("/api/cases/{case_id}/{action}", web::post().to(case_action))
        .route("/api/audit", web::get().to(audit));
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}

/// The session as the API shows it (login and `/api/me`).
fn session_json(session: &Session) -> serde_json::Value {
    serde_json::json!({
        "username": session.user.username,
        "role": session.user.role,
        "csrf_token": session.csrf,
        "expires_at": session.expires_at,
    })
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(st: web::Data<AppState>, req: HttpRequest, body: web::Json<Credentials>) -> Api {
    let (token, session) = auth::login(&st, &req, &body.username, &body.password).await?;
    let mut r = HttpResponse::Ok().json(session_json(&session));
    let _ = r.add_cookie(&auth::session_cookie(&st, &token));
    if let Some(lang) = super::i18n::chosen_cookie(&st, &session.user.username) {
        let _ = r.add_cookie(&lang);
    }
    Ok(r)
}

async fn logout(st: web::Data<AppState>, who: Authenticated) -> Api {
    who.logout(&st)?;
    let mut r = HttpResponse::NoContent().finish();
    let _ = r.add_removal_cookie(&auth::removal_cookie(&st, SESSION_COOKIE));
    Ok(r)
}

async fn me(who: Authenticated) -> Api {
    Ok(HttpResponse::Ok().json(session_json(&who.session)))
}

async fn queue(
    st: web::Data<AppState>,
    _who: Authenticated,
    filter: web::Query<QueueFilter>,
) -> Api {
    Ok(HttpResponse::Ok().json(st.cases.queue(&filter, 1000)?))
}

async fn case(st: web::Data<AppState>, who: Authenticated, path: web::Path<String>) -> Api {
    let view = view_case(&st, &who, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn case_action(
    st: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(String, String)>,
    body: Option<web::Json<serde_json::Value>>,
) -> Api {
    let (case_id, action) = path.into_inner();
    let input: ActionInput = match body {
        Some(b) => serde_json::from_value(b.into_inner())
            .map_err(|e| AdjudicationError::BadRequest(e.to_string()))?,
        None => ActionInput::default(),
    };
    let value = run_action(&st, &who, &case_id, &action, input).await?;
    Ok(HttpResponse::Ok().json(value))
}

async fn audit(st: web::Data<AppState>, who: Authenticated, q: web::Query<AuditQuery>) -> Api {
    let entries = read_audit(&st, &who, &q.window(1000, 10_000), AuditAction::AuditView)?;
    Ok(HttpResponse::Ok().json(entries))
}
