//! The console's Prometheus metrics at `GET /metrics`: requests and latency by route, failed
//! and locked-out logins, decisions, and the open cases by kind and age (read from the case
//! store at scrape time), beside every family the process records through
//! [`lake::metrics`].
//!
//! The one idea to hold in mind: no label carries anything a user typed or an id. `route` is
//! the matched route pattern (`/cases/{id}`, never `/cases/3f2a…`; `unmatched` for any path
//! that matched none), `method` one of a fixed list, `decision` an outcome of the lake's
//! vocabulary, `kind` a case kind.
//!
//! Who may scrape ([`MetricsAccess`], docs/security.md): with a token configured
//! (`tunggal console --metrics-token-file`), whoever sends it as `Authorization: Bearer …`;
//! without one, only a client on the console's own host (loopback, and not relayed by a
//! reverse proxy that is not a `--trusted-proxy`).

use std::path::Path;
use std::sync::Once;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::ClientAddress;
use super::AppState;
use crate::auth;
use crate::error::AdjudicationError;
use crate::store::{CaseKind, CaseState, Decision, Verdict};

/// The age buckets of `tunggal_console_cases_open`: label and upper bound (exclusive) of a
/// case's age on the SLA clock (since its enrollment was captured, as the queue shows it), in
/// seconds.
pub const AGE_BUCKETS: [(&str, i64); 4] = [
    ("lt_1d", 86_400),
    ("1d_3d", 3 * 86_400),
    ("3d_7d", 7 * 86_400),
    ("ge_7d", i64::MAX),
];

/// Headers a reverse proxy adds when it relays a request: a loopback peer carrying one of
/// them is a proxy on this host relaying someone else, unless it is a trusted proxy.
const FORWARDING_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Who may read the console's `/metrics`: the holder of a bearer token, or (when no token is
/// configured) only a client on the console's own host. Holds only the token's SHA-256.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    token_sha256: Option<String>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = if self.token_sha256.is_some() {
            "bearer token"
        } else {
            "loopback only"
        };
        f.debug_tuple("MetricsAccess").field(&who).finish()
    }
}

impl MetricsAccess {
    /// Scraping with `Authorization: Bearer TOKEN`, from anywhere that reaches the console.
    pub fn with_token(token: &str) -> MetricsAccess {
        MetricsAccess {
            token_sha256: Some(auth::token_hash(token.trim())),
        }
    }

    /// Whether `req` may scrape; `Err` holds the status and the reason to answer.
    fn check(&self, req: &HttpRequest, client: &ClientAddress) -> Result<(), (u16, &'static str)> {
        if let Some(expected) = &self.token_sha256 {
            let presented = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            return match presented {
                Some(token) if auth::tokens_equal(&auth::token_hash(token.trim()), expected) => {
                    Ok(())
                }
                _ => Err((401, "metrics need the scrape token (Authorization: Bearer)")),
            };
        }
        let peer = req.peer_addr().map(|a| a.ip());
        let header_value = client
            .header
            .as_deref()
            .and_then(|h| req.headers().get(h))
            .and_then(|v| v.to_str().ok());
        let from_trusted_proxy = header_value.is_some()
            && peer.is_some_and(|p| client.trusted_proxies.iter().any(|n| n.contains(&p)));
        let relayed = FORWARDING_HEADERS
            .iter()
            .any(|h| req.headers().contains_key(*h));
        let local = client
            .resolve(peer, header_value)
            .is_some_and(|ip| ip.is_loopback());
        if local && (!relayed || from_trusted_proxy) {
            Ok(())
        } else {
            Err((
                403,
                "metrics are served to this host only (or configure --metrics-token-file)",
            ))
        }
    }
}

/// Installs the process's recorder and describes the console's families, once.
fn ensure() {
    static DESCRIBED: Once = Once::new();
    lake::metrics::handle();
    DESCRIBED.call_once(|| {
        ::metrics::describe_counter!(
            "tunggal_console_http_requests_total",
            "HTTP requests answered by the console, by route pattern, method and status."
        );
        ::metrics::describe_histogram!(
            "tunggal_console_http_request_duration_seconds",
            ::metrics::Unit::Seconds,
            "Time the console took to answer, by route pattern and method."
        );
        ::metrics::describe_counter!(
            "tunggal_console_logins_failed_total",
            "Console logins refused for a wrong user name or password (or a disabled user)."
        );
        ::metrics::describe_counter!(
            "tunggal_console_logins_locked_total",
            "Console logins refused without a password check: the user name or address is \
             over its failure budget."
        );
        ::metrics::describe_counter!(
            "tunggal_console_decisions_total",
            "Decisions recorded in the console, by outcome."
        );
        ::metrics::describe_counter!(
            "tunggal_console_confirmations_total",
            "Second-person verdicts on pending decisions (confirm, reject)."
        );
        ::metrics::describe_gauge!(
            "tunggal_console_cases_open",
            "Cases awaiting a final decision (open or pending confirmation), by kind and age \
             on the SLA clock; read from the case store at scrape time."
        );
    });
}

/// Registers `GET /metrics`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape));
}

/// The middleware (`actix_web::middleware::from_fn(record_request)`) that counts every
/// request and its latency under the route pattern it matched.
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    ensure();
    let started = Instant::now();
    let method = method_label(req.method());
    let answered = next.call(req).await;
    let (route, status) = match &answered {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into()),
            res.status().as_u16(),
        ),
        Err(e) => (
            "unmatched".into(),
            e.as_response_error().status_code().as_u16(),
        ),
    };
    ::metrics::histogram!(
        "tunggal_console_http_request_duration_seconds",
        "route" => route.clone(),
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    ::metrics::counter!(
        "tunggal_console_http_requests_total",
        "route" => route,
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
    answered
}

/// The `method` label: the standard methods by name, anything else as `other` (a client
/// must not be able to mint label values).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts a refused login: a wrong password (or unknown or disabled user) as failed, a
/// refusal for the lockout as locked. Other errors (the store failing) are not logins.
pub fn login_refused(error: &AdjudicationError) {
    ensure();
    match error {
        AdjudicationError::Unauthenticated(_) => {
            ::metrics::counter!("tunggal_console_logins_failed_total").increment(1)
        }
        AdjudicationError::TooManyAttempts(_) => {
            ::metrics::counter!("tunggal_console_logins_locked_total").increment(1)
        }
        _ => {}
    }
}

/// Counts a decision just recorded, by its outcome.
pub fn decided(decision: &Decision) {
    ensure();
    ::metrics::counter!("tunggal_console_decisions_total", "decision" => decision.outcome.as_str())
        .increment(1);
}

/// Counts a second person's verdict on a pending decision.
pub fn confirmed(verdict: Verdict) {
    ensure();
    let verdict = match verdict {
        Verdict::Confirm => "confirm",
        Verdict::Reject => "reject",
    };
    ::metrics::counter!("tunggal_console_confirmations_total", "verdict" => verdict).increment(1);
}

/// `GET /metrics`: refreshes the open-case gauges from the case store, then renders every
/// metric of the process. Refused (401/403) to whom [`MetricsAccess`] does not admit.
async fn scrape(st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    ensure();
    if let Err((status, why)) = st
        .config
        .metrics_access
        .check(&req, &st.config.client_address)
    {
        let mut answer = if status == 401 {
            let mut a = HttpResponse::Unauthorized();
            a.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            a
        } else {
            HttpResponse::Forbidden()
        };
        return answer
            .content_type("text/plain; charset=utf-8")
            .body(format!("{why}\n"));
    }
    let path = st.cases.path().to_path_buf();
    match web::block(move || open_cases(&path, crate::store::now())).await {
        Ok(Ok(counts)) => {
            for (kind, age, n) in counts {
                ::metrics::gauge!("tunggal_console_cases_open", "kind" => kind, "age" => age)
                    .set(n as f64);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: cannot count the open cases"),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the open cases"),
    }
    HttpResponse::Ok()
        .content_type(lake::metrics::EXPOSITION_TYPE)
        .body(lake::metrics::render())
}

/// Cases awaiting a final decision at `now`, for every case kind and age bucket (zeros
/// included, so a bucket that empties reads 0 rather than its last value). Reads the case
/// store on its own read-only connection.
pub fn open_cases(
    case_db: &Path,
    now: i64,
) -> rusqlite::Result<Vec<(&'static str, &'static str, u64)>> {
    let conn =
        rusqlite::Connection::open_with_flags(case_db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut counts: Vec<(&'static str, &'static str, u64)> = CaseKind::ALL
        .iter()
        .flat_map(|k| {
            AGE_BUCKETS
                .iter()
                .map(move |(age, _)| (k.as_str(), *age, 0))
        })
        .collect();
    let mut stmt =
        conn.prepare("SELECT kind, ?1 - sla_since FROM cases WHERE state IN (?2, ?3)")?;
    let rows = stmt.query_map(
        rusqlite::params![
            now,
            CaseState::Open.as_str(),
            CaseState::PendingConfirmation.as_str()
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
    )?;
    for row in rows {
        let (kind, age) = row?;
        let Ok(kind) = kind.parse::<CaseKind>() else {
            continue;
        };
        let bucket = AGE_BUCKETS
            .iter()
            .find(|(_, below)| age < *below)
            .map_or("ge_7d", |(label, _)| *label);
        if let Some(slot) = counts
            .iter_mut()
            .find(|(k, a, _)| *k == kind.as_str() && *a == bucket)
        {
            slot.2 += 1;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_methods_become_labels() {
        assert_eq!(method_label(&Method::POST), "POST");
        let odd = Method::from_bytes(b"NIK3401010101900001").unwrap();
        assert_eq!(method_label(&odd), "other");
    }

    #[test]
    fn the_token_is_kept_hashed_and_not_shown() {
        let access = MetricsAccess::with_token("s3cret-scrape-token");
        let shown = format!("{access:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!access.token_sha256.as_deref().unwrap().contains("s3cret"));
    }
}
