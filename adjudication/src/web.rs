//! The console: server-rendered HTML pages for people and the same operations as JSON under
//! `/api` (described in `/api/openapi.yaml`), over one [`AppState`].
//!
//! Every page and API call except the login form, `/healthz` and the OpenAPI file needs a
//! live session (an HTTP-only, SameSite=Strict cookie holding a random token); every
//! state-changing request also needs the session's CSRF token (form field `csrf`, or header
//! `X-CSRF-Token`). Handlers are thin: they authenticate, call [`CaseStore`] (whose
//! transactions enforce claims, roles and the four-eyes rule) and render.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{middleware, web, App, HttpRequest, HttpResponse, HttpServer};
use minijinja::{context, Environment};
use serde::Deserialize;

use crate::auth::{self, LoginLimiter};
use crate::cases::{self, CaseStore, CaseSummary, DecisionInput, QueueFilter, Session};
use crate::error::{AdjudicationError, Result};
use crate::evidence::{self, Evidence};
use crate::lakeview::{self, LakeView};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tunggal_session";
/// Name of the cookie carrying the login form's CSRF token (double-submit).
pub const LOGIN_CSRF_COOKIE: &str = "tunggal_login_csrf";
/// Header carrying the CSRF token of API calls.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// The OpenAPI description of `/api`.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// Settings of the console.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// Address to listen on.
    pub bind: String,
    /// Mark cookies `Secure` (sent over HTTPS only, and by browsers to `localhost`). Turn off
    /// only behind a TLS-terminating proxy that speaks plain HTTP to the console.
    pub secure_cookies: bool,
    /// How long a claim holds a case.
    pub claim_seconds: i64,
    /// How long a session lives.
    pub session_seconds: i64,
    /// How long lake reads are reused before the tables are opened anew.
    pub lake_ttl: Duration,
    /// How often the console re-reads clusters into cases and exports decisions.
    pub sync_every: Duration,
    /// Failed logins allowed per address and per user name within `login_window`.
    pub login_max_failures: usize,
    /// Window of the login rate limit.
    pub login_window: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            bind: "127.0.0.1:8080".into(),
            secure_cookies: true,
            claim_seconds: cases::DEFAULT_CLAIM_SECONDS,
            session_seconds: cases::DEFAULT_SESSION_SECONDS,
            lake_ttl: Duration::from_secs(60),
            sync_every: Duration::from_secs(300),
            login_max_failures: 5,
            login_window: Duration::from_secs(300),
        }
    }
}

/// Everything a request handler needs.
pub struct AppState {
    /// The case store.
    pub cases: CaseStore,
    /// The lake.
    pub lake: LakeView,
    /// Settings.
    pub config: ConsoleConfig,
    templates: Environment<'static>,
    limiter: LoginLimiter,
    evidence: Mutex<HashMap<String, Arc<Evidence>>>,
}

/// Builds the shared state of the console.
pub fn state(store: lake::Store, cases: CaseStore, config: ConsoleConfig) -> web::Data<AppState> {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("queue.html", include_str!("../templates/queue.html")),
        ("case.html", include_str!("../templates/case.html")),
        ("audit.html", include_str!("../templates/audit.html")),
        ("error.html", include_str!("../templates/error.html")),
    ] {
        env.add_template(name, source)
            .expect("embedded templates parse");
    }
    env.add_filter("time", |secs: i64| {
        cases::to_time(secs)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string()
    });
    web::Data::new(AppState {
        cases,
        lake: LakeView::new(store, config.lake_ttl),
        limiter: LoginLimiter::new(config.login_max_failures, config.login_window),
        config,
        templates: env,
        evidence: Mutex::new(HashMap::new()),
    })
}

/// Registers every route of the console (HTML and `/api`) and its security headers.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/healthz",
        web::get().to(|| async { HttpResponse::Ok().body("ok") }),
    )
    .route("/", web::get().to(|| async { redirect("/queue") }))
    .route("/login", web::get().to(login_form))
    .route("/login", web::post().to(login_submit))
    .route("/logout", web::post().to(logout_submit))
    .route("/queue", web::get().to(queue_page))
    .route("/cases/{case_id}", web::get().to(case_page))
    .route("/cases/{case_id}/{action}", web::post().to(case_action))
    .route(
        "/cases/{case_id}/image/{enrollment_id}/{kind}",
        web::get().to(case_image),
    )
    .route("/audit", web::get().to(audit_page))
    .route("/audit/export.csv", web::get().to(audit_export))
    .route("/api/openapi.yaml", web::get().to(openapi))
    .route("/api/login", web::post().to(api_login))
    .route("/api/logout", web::post().to(api_logout))
    .route("/api/me", web::get().to(api_me))
    .route("/api/cases", web::get().to(api_queue))
    .route("/api/cases/{case_id}", web::get().to(api_case))
    .route(
        "/api/cases/{case_id}/{action}",
        web::post().to(api_case_action),
    )
    .route("/api/audit", web::get().to(api_audit));
}

/// The security headers every response carries.
pub fn security_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Runs the console until interrupted: creates cases from the lake at start and every
/// `sync_every`, exports final decisions and the audit trail, and serves HTTP on `config.bind`.
pub async fn serve(store: lake::Store, case_db: &Path, config: ConsoleConfig) -> Result<()> {
    let cases = CaseStore::open(case_db)?;
    let summary = lakeview::sync_with(&store, &cases).await?;
    tracing::info!(
        created = summary.cases.created,
        existing = summary.cases.existing,
        superseded = summary.cases.superseded,
        exported = summary.decisions_exported,
        audit_exported = summary.audit_exported,
        "cases synchronised with the lake"
    );
    let bind = config.bind.clone();
    let every = config.sync_every;
    let data = state(store, cases, config);
    let background = data.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            background.lake.refresh().await;
            match lakeview::sync_with(background.lake.store(), &background.cases).await {
                Ok(s) => tracing::info!(
                    created = s.cases.created,
                    exported = s.decisions_exported,
                    audit_exported = s.audit_exported,
                    "periodic sync"
                ),
                Err(e) => tracing::warn!(error = %e, "periodic sync failed"),
            }
        }
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::JsonConfig::default().limit(64 * 1024))
            .wrap(security_headers())
            .configure(routes)
    })
    .bind(&bind)
    .map_err(|e| AdjudicationError::Internal(anyhow::anyhow!("cannot listen on {bind}: {e}")))?;
    for addr in server.addrs() {
        // The one line a start-up script (and the browser test) waits for.
        println!("console listening on http://{addr}");
    }
    server
        .run()
        .await
        .map_err(|e| AdjudicationError::Internal(e.into()))
}

// ----- helpers -----

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

fn remote(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn current(req: &HttpRequest, st: &AppState) -> Result<Session> {
    let cookie = req
        .cookie(SESSION_COOKIE)
        .ok_or_else(|| AdjudicationError::Unauthenticated("log in first".into()))?;
    st.cases
        .session(cookie.value())?
        .ok_or_else(|| AdjudicationError::Unauthenticated("the session has expired".into()))
}

fn check_csrf(session: &Session, provided: Option<&str>) -> Result<()> {
    match provided {
        Some(token) if auth::tokens_equal(token, &session.csrf) => Ok(()),
        _ => Err(AdjudicationError::Forbidden(
            "missing or wrong CSRF token".into(),
        )),
    }
}

fn status_of(e: &AdjudicationError) -> StatusCode {
    match e {
        AdjudicationError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AdjudicationError::Forbidden(_) => StatusCode::FORBIDDEN,
        AdjudicationError::NotFound(_) => StatusCode::NOT_FOUND,
        AdjudicationError::Conflict(_) => StatusCode::CONFLICT,
        AdjudicationError::BadRequest(_) => StatusCode::BAD_REQUEST,
        AdjudicationError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn public_message(e: &AdjudicationError) -> String {
    match status_of(e) {
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!(error = %e, "request failed");
            "internal error; the operator's log has the details".into()
        }
        _ => e.to_string(),
    }
}

fn render(st: &AppState, name: &str, ctx: minijinja::Value) -> Result<HttpResponse> {
    let html = st.templates.get_template(name)?.render(ctx)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Turns a page handler's result into a response: unauthenticated → the login form, other
/// errors → an error page with the matching status.
fn page(st: &AppState, result: Result<HttpResponse>) -> HttpResponse {
    match result {
        Ok(r) => r,
        Err(AdjudicationError::Unauthenticated(_)) => redirect("/login"),
        Err(e) => {
            let status = status_of(&e);
            let body = st
                .templates
                .get_template("error.html")
                .and_then(|t| {
                    t.render(context! { status => status.as_u16(), message => public_message(&e) })
                })
                .unwrap_or_else(|_| "error".into());
            HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(body)
        }
    }
}

/// Turns an API handler's result into a response: errors as `{"error", "message"}` JSON.
fn api(result: Result<HttpResponse>) -> HttpResponse {
    match result {
        Ok(r) => r,
        Err(e) => {
            let status = status_of(&e);
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
                .json(serde_json::json!({ "error": kind, "message": public_message(&e) }))
        }
    }
}

fn session_cookie(st: &AppState, token: &str) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .secure(st.config.secure_cookies)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(
            st.config.session_seconds,
        ))
        .finish()
}

fn removal_cookie(st: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::build(name, "")
        .path("/")
        .http_only(true)
        .secure(st.config.secure_cookies)
        .same_site(SameSite::Strict)
        .finish();
    c.make_removal();
    c
}

/// Logs in with the rate limit applied per client address and per user name.
fn do_login(
    st: &AppState,
    req: &HttpRequest,
    username: &str,
    password: &str,
) -> Result<(String, Session)> {
    let addr = remote(req);
    let keys = [format!("addr:{addr}"), format!("user:{username}")];
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    st.limiter.check(&keys)?;
    match st
        .cases
        .login(username, password, &addr, st.config.session_seconds)
    {
        Ok(ok) => {
            st.limiter.succeeded(&keys[1..]);
            Ok(ok)
        }
        Err(e) => {
            if matches!(e, AdjudicationError::Unauthenticated(_)) {
                st.limiter.failed(&keys);
            }
            Err(e)
        }
    }
}

/// Members in display order: records not under question (the earlier enrollment) first.
fn display_order(case: &CaseSummary) -> Vec<String> {
    let mut members = case.members.clone();
    members.sort_by_key(|m| {
        let flagged = m.status == lake::tables::identity_status::GANDA
            || m.status == lake::tables::identity_status::NIK_CONFLICT;
        (flagged, m.enrollment_id.clone())
    });
    members.into_iter().map(|m| m.enrollment_id).collect()
}

async fn load_evidence(st: &AppState, case: &CaseSummary) -> Result<Arc<Evidence>> {
    if let Some(ev) = st
        .evidence
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&case.case_id)
    {
        return Ok(ev.clone());
    }
    let ids = display_order(case);
    let ctx = st.lake.context().await?;
    let rows = lakeview::evidence_rows(&ctx, &ids).await?;
    let ev = web::block(move || evidence::build(&ids, &rows))
        .await
        .map_err(|e| AdjudicationError::Internal(anyhow::anyhow!("evidence: {e}")))?;
    let ev = Arc::new(ev);
    let mut cache = st.evidence.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > 512 {
        cache.clear();
    }
    cache.insert(case.case_id.clone(), ev.clone());
    Ok(ev)
}

/// What the current user may do on a case right now.
#[derive(Debug, serde::Serialize)]
struct Permissions {
    can_claim: bool,
    holds_claim: bool,
    can_decide: bool,
    can_review: bool,
}

fn permissions(session: &Session, case: &CaseSummary, pending_by: Option<&str>) -> Permissions {
    let me = session.user.username.as_str();
    let worker = session.user.role.can_decide();
    let holds = case.claimed_by.as_deref() == Some(me);
    let free = case.claimed_by.is_none() || holds;
    let pending = case.state == cases::STATE_PENDING;
    let open = case.state == cases::STATE_OPEN;
    Permissions {
        can_claim: worker && !holds && free && (open || (pending && pending_by != Some(me))),
        holds_claim: holds,
        can_decide: worker && holds && open,
        can_review: worker && holds && pending && pending_by != Some(me),
    }
}

/// Runs a case action (`claim`, `release`, `decide`, `confirm`, `reject`) for the HTML and
/// API handlers alike; exports the decision to the lake when it became final.
async fn run_action(
    st: &AppState,
    req: &HttpRequest,
    session: &Session,
    case_id: &str,
    action: &str,
    input: ActionInput,
) -> Result<serde_json::Value> {
    let addr = remote(req);
    let user = &session.user;
    let value = match action {
        "claim" => {
            serde_json::to_value(
                st.cases
                    .claim(user, case_id, st.config.claim_seconds, &addr)?,
            )
        }
        "release" => {
            st.cases.release(user, case_id, &addr)?;
            serde_json::to_value(st.cases.case(case_id)?)
        }
        "decide" => {
            let decision = DecisionInput {
                outcome: input.outcome.unwrap_or_default(),
                keep_enrollment_id: input.keep_enrollment_id,
                fraud: input.fraud,
                comment: input.comment.unwrap_or_default(),
            };
            let d = st.cases.decide(user, case_id, &decision, &addr)?;
            export_if_final(st, &d).await;
            serde_json::to_value(st.cases.decision(&d.decision_id)?)
        }
        "confirm" | "reject" => {
            let d = st.cases.review(
                user,
                case_id,
                action == "confirm",
                input.comment.as_deref().unwrap_or(""),
                &addr,
            )?;
            export_if_final(st, &d).await;
            serde_json::to_value(st.cases.decision(&d.decision_id)?)
        }
        other => return Err(AdjudicationError::NotFound(format!("action {other}"))),
    };
    value.map_err(|e| AdjudicationError::Internal(e.into()))
}

async fn export_if_final(st: &AppState, d: &cases::Decision) {
    if d.state == "final" {
        if let Err(e) = lakeview::export_decisions(st.lake.store(), &st.cases).await {
            // The nightly sync exports it later; the decision itself is safe in the case store.
            tracing::warn!(error = %e, "decision export to the lake failed; sync will retry");
        }
    }
}

/// Fields of every case action (forms and JSON).
#[derive(Debug, Default, Deserialize)]
struct ActionInput {
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    keep_enrollment_id: Option<String>,
    #[serde(default, deserialize_with = "checkbox")]
    fraud: bool,
    #[serde(default)]
    comment: Option<String>,
}

/// Accepts `true`/`false` (JSON) and `on`/`true` (HTML checkbox).
fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
    }
    Ok(match B::deserialize(d)? {
        B::Bool(b) => b,
        B::Text(s) => matches!(s.as_str(), "on" | "true" | "1" | "yes"),
    })
}

// ----- HTML pages -----

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login_form(st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if current(&req, &st).is_ok() {
        return redirect("/queue");
    }
    let token = auth::random_token();
    let result = render(&st, "login.html", context! { csrf => token, error => "" }).map(|mut r| {
        let cookie = Cookie::build(LOGIN_CSRF_COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(st.config.secure_cookies)
            .same_site(SameSite::Strict)
            .finish();
        let _ = r.add_cookie(&cookie);
        r
    });
    page(&st, result)
}

async fn login_submit(
    st: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string());
    if !expected.is_some_and(|e| !e.is_empty() && auth::tokens_equal(&e, &form.csrf)) {
        return page(
            &st,
            Err(AdjudicationError::Forbidden(
                "missing or wrong CSRF token; reload the login page".into(),
            )),
        );
    }
    match do_login(&st, &req, &form.username, &form.password) {
        Ok((token, _)) => {
            let mut r = redirect("/queue");
            let _ = r.add_cookie(&session_cookie(&st, &token));
            let _ = r.add_removal_cookie(&removal_cookie(&st, LOGIN_CSRF_COOKIE));
            r
        }
        Err(
            e @ (AdjudicationError::Unauthenticated(_) | AdjudicationError::TooManyAttempts(_)),
        ) => {
            let status = status_of(&e);
            let message = e.to_string();
            let r = render(
                &st,
                "login.html",
                context! { csrf => form.csrf.clone(), error => message },
            );
            let mut r = page(&st, r);
            *r.status_mut() = status;
            r
        }
        Err(e) => page(&st, Err(e)),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
}

async fn logout_submit(
    st: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let result = (|| {
        let session = current(&req, &st)?;
        check_csrf(&session, form.csrf.as_deref())?;
        if let Some(c) = req.cookie(SESSION_COOKIE) {
            st.cases.logout(c.value())?;
        }
        st.cases.audit(
            Some(&session.user.username),
            "logout",
            None,
            None,
            None,
            &remote(&req),
        )?;
        let mut r = redirect("/login");
        let _ = r.add_removal_cookie(&removal_cookie(&st, SESSION_COOKIE));
        Ok(r)
    })();
    page(&st, result)
}

async fn queue_page(
    st: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<QueueFilter>,
) -> HttpResponse {
    let result = (|| {
        let session = current(&req, &st)?;
        let cases = st.cases.queue(&filter, 500)?;
        render(
            &st,
            "queue.html",
            context! { session => session, cases => cases, filter => filter.into_inner(), now => cases::now() },
        )
    })();
    page(&st, result)
}

#[derive(Deserialize)]
struct MsgQuery {
    #[serde(default)]
    msg: Option<String>,
}

async fn case_page(
    st: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<MsgQuery>,
) -> HttpResponse {
    let case_id = path.into_inner();
    let result = async {
        let session = current(&req, &st)?;
        let case = st.cases.case(&case_id)?;
        let decisions = st.cases.decisions_of(&case_id)?;
        let evidence = load_evidence(&st, &case).await?;
        st.cases.audit(
            Some(&session.user.username),
            "case_view",
            Some(&case_id),
            None,
            None,
            &remote(&req),
        )?;
        let pending = decisions.iter().find(|d| d.state == "pending").cloned();
        let perms = permissions(
            &session,
            &case,
            pending.as_ref().map(|d| d.decided_by.as_str()),
        );
        render(
            &st,
            "case.html",
            context! {
                session => session,
                case => case,
                decisions => decisions,
                pending => pending,
                ev => minijinja::Value::from_serialize(&*evidence),
                perms => perms,
                msg => q.msg.clone().unwrap_or_default(),
            },
        )
    }
    .await;
    page(&st, result)
}

async fn case_action(
    st: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (case_id, action) = path.into_inner();
    let result = async {
        let session = current(&req, &st)?;
        let form = form.into_inner();
        check_csrf(&session, form.get("csrf").map(String::as_str))?;
        let input = ActionInput {
            outcome: form.get("outcome").cloned(),
            keep_enrollment_id: form.get("keep_enrollment_id").cloned(),
            fraud: form
                .get("fraud")
                .is_some_and(|v| matches!(v.as_str(), "on" | "true" | "1")),
            comment: form.get("comment").cloned(),
        };
        run_action(&st, &req, &session, &case_id, &action, input).await?;
        let to = match action.as_str() {
            "release" => "/queue".to_string(),
            _ => format!("/cases/{case_id}?msg={action}"),
        };
        Ok(redirect(&to))
    }
    .await;
    page(&st, result)
}

async fn case_image(
    st: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (case_id, enrollment_id, kind) = path.into_inner();
    let result = async {
        let session = current(&req, &st)?;
        let case = st.cases.case(&case_id)?;
        if !case
            .members
            .iter()
            .any(|m| m.enrollment_id == enrollment_id)
        {
            return Err(AdjudicationError::NotFound("image".into()));
        }
        let (bytes, content_type) = lakeview::image(&st.lake, &enrollment_id, &kind).await?;
        st.cases.audit(
            Some(&session.user.username),
            "image_view",
            Some(&case_id),
            Some(&enrollment_id),
            Some(&kind),
            &remote(&req),
        )?;
        Ok(HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .body(bytes))
    }
    .await;
    page(&st, result)
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    case_id: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

fn require_auditor(session: &Session) -> Result<()> {
    if session.user.role.can_audit() {
        Ok(())
    } else {
        Err(AdjudicationError::Forbidden(
            "the audit trail is for auditors and supervisors".into(),
        ))
    }
}

async fn audit_page(st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let result = (|| {
        let session = current(&req, &st)?;
        require_auditor(&session)?;
        let entries = st.cases.audit_recent(500)?;
        st.cases.audit(
            Some(&session.user.username),
            "audit_view",
            None,
            None,
            None,
            &remote(&req),
        )?;
        render(
            &st,
            "audit.html",
            context! { session => session, entries => entries },
        )
    })();
    page(&st, result)
}

async fn audit_export(
    st: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AuditQuery>,
) -> HttpResponse {
    let result = (|| {
        let session = current(&req, &st)?;
        require_auditor(&session)?;
        let entries = st.cases.audit_trail(
            q.after.unwrap_or(0),
            q.limit.unwrap_or(1_000_000),
            q.case_id.as_deref(),
            q.username.as_deref(),
        )?;
        st.cases.audit(
            Some(&session.user.username),
            "audit_export",
            None,
            None,
            None,
            &remote(&req),
        )?;
        let mut out = String::from("seq,time,username,action,case_id,target,detail,remote_addr\n");
        for e in entries {
            let fields = [
                e.seq.to_string(),
                cases::to_time(e.time).to_rfc3339(),
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
    })();
    page(&st, result)
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

// ----- JSON API -----

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}

#[derive(Deserialize)]
struct ApiLogin {
    username: String,
    password: String,
}

async fn api_login(
    st: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ApiLogin>,
) -> HttpResponse {
    api((|| {
        let (token, session) = do_login(&st, &req, &body.username, &body.password)?;
        let mut r = HttpResponse::Ok().json(serde_json::json!({
            "username": session.user.username,
            "role": session.user.role,
            "csrf_token": session.csrf,
            "expires_at": session.expires_at,
        }));
        let _ = r.add_cookie(&session_cookie(&st, &token));
        Ok(r)
    })())
}

fn csrf_header(req: &HttpRequest) -> Option<&str> {
    req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

async fn api_logout(st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    api((|| {
        let session = current(&req, &st)?;
        check_csrf(&session, csrf_header(&req))?;
        if let Some(c) = req.cookie(SESSION_COOKIE) {
            st.cases.logout(c.value())?;
        }
        st.cases.audit(
            Some(&session.user.username),
            "logout",
            None,
            None,
            None,
            &remote(&req),
        )?;
        let mut r = HttpResponse::NoContent().finish();
        let _ = r.add_removal_cookie(&removal_cookie(&st, SESSION_COOKIE));
        Ok(r)
    })())
}

async fn api_me(st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    api((|| {
        let session = current(&req, &st)?;
        Ok(HttpResponse::Ok().json(serde_json::json!({
            "username": session.user.username,
            "role": session.user.role,
            "csrf_token": session.csrf,
            "expires_at": session.expires_at,
        })))
    })())
}

async fn api_queue(
    st: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<QueueFilter>,
) -> HttpResponse {
    api((|| {
        current(&req, &st)?;
        Ok(HttpResponse::Ok().json(st.cases.queue(&filter, 1000)?))
    })())
}

async fn api_case(
    st: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let case_id = path.into_inner();
    api(async {
        let session = current(&req, &st)?;
        let case = st.cases.case(&case_id)?;
        let decisions = st.cases.decisions_of(&case_id)?;
        let evidence = load_evidence(&st, &case).await?;
        st.cases.audit(
            Some(&session.user.username),
            "case_view",
            Some(&case_id),
            None,
            None,
            &remote(&req),
        )?;
        Ok(HttpResponse::Ok().json(serde_json::json!({
            "case": case,
            "decisions": decisions,
            "evidence": &*evidence,
        })))
    }
    .await)
}

async fn api_case_action(
    st: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Option<web::Json<serde_json::Value>>,
) -> HttpResponse {
    let (case_id, action) = path.into_inner();
    api(async {
        let session = current(&req, &st)?;
        check_csrf(&session, csrf_header(&req))?;
        let input: ActionInput = match body {
            Some(b) => serde_json::from_value(b.into_inner())
                .map_err(|e| AdjudicationError::BadRequest(e.to_string()))?,
            None => ActionInput::default(),
        };
        let value = run_action(&st, &req, &session, &case_id, &action, input).await?;
        Ok(HttpResponse::Ok().json(value))
    }
    .await)
}

async fn api_audit(
    st: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AuditQuery>,
) -> HttpResponse {
    api((|| {
        let session = current(&req, &st)?;
        require_auditor(&session)?;
        let entries = st.cases.audit_trail(
            q.after.unwrap_or(0),
            q.limit.unwrap_or(1000).min(10_000),
            q.case_id.as_deref(),
            q.username.as_deref(),
        )?;
        st.cases.audit(
            Some(&session.user.username),
            "audit_view",
            None,
            None,
            None,
            &remote(&req),
        )?;
        Ok(HttpResponse::Ok().json(entries))
    })())
}
