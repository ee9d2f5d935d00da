//! The HTML console: login, queue, case page (with its action forms and images), audit page
//! and CSV export, rendered from the view models of [`super::view`] in the user's language
//! ([`super::i18n`]); the supervisors' overview is in [`super::overview`].
//!
//! The one idea to hold in mind: after a form's action the browser is redirected (303) to a
//! page that shows the result, so reloading never repeats an action.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use minijinja::{context, Value};
use serde::Deserialize;

use super::actions::{is_checked, run_action, ActionInput};
use super::auth::{self, Authenticated};
use super::error::{status_of, PageError};
use super::i18n::PageLang;
use super::view::{read_audit, view_case, AuditWindow};
use super::{templates, AppState, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::AdjudicationError;
use crate::store::{self, AuditAction, QueueFilter};

/// What a page handler returns.
pub(super) type Page = std::result::Result<HttpResponse, PageError>;

/// Registers the HTML routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(|| async { redirect("/queue") }))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login_submit))
        .route("/logout", web::post().to(logout_submit))
        .route("/queue", web::get().to(queue_page))
        .route("/cases", web::get().to(cases_alias))
        .route("/favicon.ico", web::get().to(favicon))
        .route("/favicon.svg", web::get().to(favicon))
        .route("/cases/{case_id}", web::get().to(case_page))
        .route("/cases/{case_id}/{action}", web::post().to(case_action))
        .route(
            "/cases/{case_id}/image/{enrollment_id}/{kind}",
            web::get().to(case_image),
        )
        .route("/audit", web::get().to(audit_page))
        .route("/audit/export.csv", web::get().to(audit_export));
    super::i18n::routes(cfg);
    super::overview::routes(cfg);
}

/// A 303 redirect to `to`.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// The console's icon: a white "t" (tunggal) on the header's blue.
pub const FAVICON_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f3a5f"/><text x="16" y="24" font-family="sans-serif" font-size="22" font-weight="bold" fill="#fff" text-anchor="middle">t</text></svg>"##;

/// `/favicon.ico` and `/favicon.svg`: the icon (SVG, which browsers take for either), so no
/// page's icon request fails.
async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(FAVICON_SVG)
}

/// `/cases?…`: the queue under the name the overview's links may also use.
async fn cases_alias(req: HttpRequest) -> HttpResponse {
    match req.query_string() {
        "" => redirect("/queue"),
        q => redirect(&format!("/queue?{q}")),
    }
}

/// Renders template `name` in the request's language: the context gets `lang` (what `t()`
/// reads) and `here` (the page, for the language switch).
pub(super) fn render(lang: &PageLang, name: &str, ctx: Value) -> Page {
    let ctx = context! { lang => lang.lang.code(), here => lang.here_query(), ..ctx };
    let html = templates()
        .get_template(name)
        .map_err(AdjudicationError::from)?
        .render(ctx)
        .map_err(AdjudicationError::from)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login_form(st: web::Data<AppState>, who: Option<Authenticated>, lang: PageLang) -> Page {
    if who.is_some() {
        return Ok(redirect("/queue"));
    }
    let token = crate::auth::random_token();
    let mut r = render(&lang, "login.html", context! { csrf => token, error => "" })?;
    let _ = r.add_cookie(&auth::login_csrf_cookie(&st, &token));
    Ok(r)
}

async fn login_submit(
    st: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
    lang: PageLang,
) -> Page {
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string());
    if !expected.is_some_and(|e| !e.is_empty() && crate::auth::tokens_equal(&e, &form.csrf)) {
        return Err(AdjudicationError::Forbidden(
            "missing or wrong CSRF token; reload the login page".into(),
        )
        .into());
    }
    match auth::login(&st, &req, &form.username, &form.password).await {
        Ok((token, session)) => {
            let mut r = redirect("/queue");
            let _ = r.add_cookie(&auth::session_cookie(&st, &token));
            if let Some(lang) = super::i18n::chosen_cookie(&st, &session.user.username) {
                let _ = r.add_cookie(&lang);
            }
            let _ = r.add_removal_cookie(&auth::removal_cookie(&st, LOGIN_CSRF_COOKIE));
            Ok(r)
        }
        Err(
            e @ (AdjudicationError::Unauthenticated(_) | AdjudicationError::TooManyAttempts(_)),
        ) => {
            let error = match e {
                AdjudicationError::TooManyAttempts(_) => "login-locked",
                _ => "login-failed",
            };
            let mut r = render(
                &lang,
                "login.html",
                context! { csrf => form.csrf.clone(), error => error },
            )?;
            *r.status_mut() = status_of(&e);
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
}

async fn logout_submit(
    st: web::Data<AppState>,
    who: Authenticated,
    form: web::Form<CsrfForm>,
) -> Page {
    who.check_csrf(form.csrf.as_deref())?;
    who.logout(&st)?;
    let mut r = redirect("/login");
    let _ = r.add_removal_cookie(&auth::removal_cookie(&st, SESSION_COOKIE));
    Ok(r)
}

async fn queue_page(
    st: web::Data<AppState>,
    who: Authenticated,
    filter: web::Query<QueueFilter>,
    lang: PageLang,
) -> Page {
    let cases = st.cases.queue(&filter, 500)?;
    render(
        &lang,
        "queue.html",
        context! { session => who.session, cases => cases, filter => filter.into_inner(), now => store::now() },
    )
}

#[derive(Deserialize)]
struct MsgQuery {
    #[serde(default)]
    msg: Option<String>,
}

async fn case_page(
    st: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<String>,
    q: web::Query<MsgQuery>,
    lang: PageLang,
) -> Page {
    let view = view_case(&st, &who, &path.into_inner()).await?;
    render(
        &lang,
        "case.html",
        context! {
            session => who.session,
            msg => q.into_inner().msg.unwrap_or_default(),
            ..Value::from_serialize(&view)
        },
    )
}

async fn case_action(
    st: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> Page {
    let (case_id, action) = path.into_inner();
    let mut form = form.into_inner();
    who.check_csrf(form.get("csrf").map(String::as_str))?;
    let input = ActionInput {
        outcome: form.remove("outcome"),
        keep_enrollment_id: form.remove("keep_enrollment_id"),
        fraud: form.get("fraud").is_some_and(|v| is_checked(v)),
        comment: form.remove("comment"),
    };
    run_action(&st, &who, &case_id, &action, input).await?;
    Ok(match action.as_str() {
        "release" => redirect("/queue"),
        _ => redirect(&format!("/cases/{case_id}?msg={action}")),
    })
}

async fn case_image(
    st: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(String, String, String)>,
) -> Page {
    let (case_id, enrollment_id, kind) = path.into_inner();
    let case = st.cases.case(&case_id)?;
    if !case
        .members
        .iter()
        .any(|m| m.enrollment_id == enrollment_id)
    {
        return Err(AdjudicationError::NotFound("image".into()).into());
    }
    let (bytes, content_type) = match crate::lakeview::image(&st.lake, &enrollment_id, &kind).await
    {
        Ok(found) => found,
        Err(e @ AdjudicationError::Tampered(_)) => {
            st.cases.audit(
                Some(who.username()),
                AuditAction::EvidenceTampered,
                Some(&case_id),
                Some(&enrollment_id),
                Some(&kind),
                &who.remote,
            )?;
            tracing::warn!(case = %case_id, "evidence tampered: landing object differs from ingest");
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    st.cases.audit(
        Some(who.username()),
        AuditAction::ImageView,
        Some(&case_id),
        Some(&enrollment_id),
        Some(&kind),
        &who.remote,
    )?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// Query of the audit reads: a window after a sequence number, of one case or user.
#[derive(Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    case_id: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

impl AuditQuery {
    /// The window asked for; `limit` defaults to `default` and is capped at `max`.
    pub(super) fn window(&self, default: usize, max: usize) -> AuditWindow {
        AuditWindow::After {
            after: self.after.unwrap_or(0),
            limit: self.limit.unwrap_or(default).min(max),
            case_id: self.case_id.clone(),
            username: self.username.clone(),
        }
    }
}

async fn audit_page(st: web::Data<AppState>, who: Authenticated, lang: PageLang) -> Page {
    let entries = read_audit(&st, &who, &AuditWindow::Newest(500), AuditAction::AuditView)?;
    render(
        &lang,
        "audit.html",
        context! { session => who.session, entries => entries },
    )
}

async fn audit_export(
    st: web::Data<AppState>,
    who: Authenticated,
    q: web::Query<AuditQuery>,
) -> Page {
    let window = q.window(1_000_000, usize::MAX);
    let entries = read_audit(&st, &who, &window, AuditAction::AuditExport)?;
    let mut out = String::from("seq,time,username,action,case_id,target,detail,remote_addr\n");
    for e in entries {
        let fields = [
            e.seq.to_string(),
            store::to_time(e.time).to_rfc3339(),
            e.username.unwrap_or_default(),
            e.action,
            e.case_id.unwrap_or_default(),
            e.target.unwrap_or_default(),
            e.detail.unwrap_or_default(),
            e.remote_addr.unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"tunggal-audit.csv\"",
        ))
        .body(out))
}

/// A CSV field: neutralised when a spreadsheet would take it for a formula
/// ([`crate::auth::neutralise_csv_cell`]), quoted when it holds a separator, quote or line
/// break.
fn csv_field(f: &str) -> String {
    let f = crate::auth::neutralise_csv_cell(f);
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}
