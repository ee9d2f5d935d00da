//! The console: server-rendered HTML pages for people ([`pages`]) and the same operations as
//! JSON under `/api` ([`api`], described in `/api/openapi.yaml`), over one [`AppState`].
//!
//! Every page and API call except the login form, `/healthz`, `/metrics` ([`metrics`]) and
//! the OpenAPI file needs a live session (an HTTP-only, SameSite=Strict cookie holding a
//! random token), resolved by the
//! [`auth::Authenticated`] extractor; every state-changing request also needs the session's
//! CSRF token (form field `csrf`, or header `X-CSRF-Token`). Handlers are thin: they
//! authenticate, call one shared function of [`view`] (which calls [`CaseStore`], whose
//! transactions enforce claims, roles and the four-eyes rule), and render the result as HTML
//! or JSON; errors become responses through [`error`].

pub mod actions;
pub mod api;
pub mod auth;
pub mod error;
pub mod i18n;
pub mod metrics;
pub mod overview;
pub mod pages;
mod sync;
pub mod view;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use minijinja::Environment;

use crate::auth::{LoginGate, LoginLimits};
use crate::error::{AdjudicationError, Result};
use crate::lakeview::{self, LakeView};
use crate::store::{self, CaseStore};

pub use sync::SyncTask;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tunggal_session";
/// Name of the cookie carrying the login form's CSRF token (double-submit).
pub const LOGIN_CSRF_COOKIE: &str = "tunggal_login_csrf";
/// Header carrying the CSRF token of API calls.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// The OpenAPI description of `/api`.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

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
    /// The login lockout (shared with Flight SQL through the case store's audit trail).
    pub login_limits: LoginLimits,
    /// Where the client's address comes from behind the DC's reverse proxy (docs/security.md).
    pub client_address: auth::ClientAddress,
    /// Who may scrape `/metrics` (docs/security.md).
    pub metrics_access: metrics::MetricsAccess,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            bind: "127.0.0.1:8080".into(),
            secure_cookies: true,
            claim_seconds: store::DEFAULT_CLAIM_SECONDS,
            session_seconds: store::DEFAULT_SESSION_SECONDS,
            lake_ttl: Duration::from_secs(60),
            sync_every: Duration::from_secs(300),
            login_limits: LoginLimits::default(),
            client_address: auth::ClientAddress::default(),
            metrics_access: metrics::MetricsAccess::default(),
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
    /// Password checks run here: off the actix workers, a few at a time.
    login_gate: LoginGate,
    evidence: view::EvidenceCache,
}

/// Builds the shared state of the console.
pub fn state(store: lake::Store, cases: CaseStore, config: ConsoleConfig) -> web::Data<AppState> {
    web::Data::new(AppState {
        cases: cases.with_login_limits(config.login_limits),
        lake: LakeView::new(store, config.lake_ttl),
        login_gate: LoginGate::default(),
        config,
        evidence: view::EvidenceCache::default(),
    })
}

/// The console's templates, embedded in the binary and parsed once.
pub(crate) fn templates() -> &'static Environment<'static> {
    static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATE_SOURCES {
            env.add_template(name, source)
                .expect("embedded templates parse");
        }
        // `t("id", arg=value)` and `|num(decimals)`: words and numbers in the page's
        // language ([`i18n`]).
        i18n::register(&mut env);
        // A unix time in the zone of a province's sites (default: the data center's) and UTC.
        env.add_filter("time", |secs: i64, province: Option<String>| {
            crate::present::unix_time_in(secs, province.as_deref().unwrap_or(""))
        });
        // A region code with its name.
        env.add_filter("region", |code: String| crate::present::region(&code));
        // The vocabularies the forms offer, from their enums (never typed into a template).
        env.add_global(
            "outcomes",
            minijinja::Value::from_serialize(outcome_choices()),
        );
        env.add_global(
            "case_kinds",
            minijinja::Value::from_serialize(
                store::CaseKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>(),
            ),
        );
        env
    })
}

/// The console's templates (name, source), embedded in the binary.
pub(crate) const TEMPLATE_SOURCES: [(&str, &str); 7] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("queue.html", include_str!("../../templates/queue.html")),
    ("case.html", include_str!("../../templates/case.html")),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "overview.html",
        include_str!("../../templates/overview.html"),
    ),
];

/// The decision form's choices: each outcome of the lake's vocabulary with the words an
/// adjudicator reads.
fn outcome_choices() -> Vec<(&'static str, &'static str)> {
    lake::vocabulary::Outcome::ALL
        .iter()
        .map(|o| {
            let label = match o {
                lake::vocabulary::Outcome::Duplicate => "Same person: duplicate",
                lake::vocabulary::Outcome::DifferentPersons => {
                    "Different persons (false match: all proceed)"
                }
                lake::vocabulary::Outcome::Reenrollment => "Same person: legitimate re-enrollment",
                lake::vocabulary::Outcome::ReferBack => "Refer back to the service point",
            };
            (o.as_str(), label)
        })
        .collect()
}

/// Registers every route of the console (HTML and `/api`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/healthz",
        web::get().to(|| async { HttpResponse::Ok().body("ok") }),
    );
    metrics::routes(cfg);
    pages::routes(cfg);
    api::routes(cfg);
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
/// `sync_every` (a [`SyncTask`] stopped when the server stops), exports final decisions and
/// the audit trail, and serves HTTP on `config.bind`.
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
    let app_data = data.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_data.clone())
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::JsonConfig::default().limit(64 * 1024))
            .wrap(security_headers())
            .wrap(middleware::from_fn(metrics::record_request))
            .wrap(middleware::from_fn(i18n::localise_errors))
            .configure(routes)
    })
    .bind(&bind)
    .map_err(|e| AdjudicationError::Internal(anyhow::anyhow!("cannot listen on {bind}: {e}")))?;
    for addr in server.addrs() {
        // The one line a start-up script (and the browser test) waits for.
        println!("console listening on http://{addr}");
    }
    let sync = SyncTask::start(data, every);
    let served = server.run().await;
    sync.stop().await;
    served.map_err(|e| AdjudicationError::Internal(e.into()))
}
