//! Who is asking: the [`Authenticated`] extractor (session cookie → session, and the CSRF
//! header of state-changing API calls), logging in under the rate limit, and the cookies.
//!
//! The one idea to hold in mind: a handler that takes an [`Authenticated`] argument cannot run
//! without a live session; a failure answers in the flavour of the route (`/api/…`: JSON,
//! otherwise the login page or an HTML error page), see [`super::error`].

use std::future::{ready, Ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::{ApiError, PageError};
use super::{AppState, CSRF_HEADER, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::auth;
use crate::error::{AdjudicationError, Result};
use crate::store::Session;

/// A request with a live session. For `/api/…` requests that change state (any method but
/// GET and HEAD) the `X-CSRF-Token` header has been checked too; HTML forms carry the token in
/// their body, which the handler checks with [`Authenticated::check_csrf`].
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The session (user, role, CSRF token).
    pub session: Session,
    /// The session token from the cookie (to end the session on logout).
    pub token: String,
    /// The client's address, for the audit trail.
    pub remote: String,
}

impl Authenticated {
    /// Ends this session and records the logout in the audit trail: the one way both the
    /// pages and the API log a user out.
    pub fn logout(&self, st: &AppState) -> Result<()> {
        st.cases.logout(&self.token)?;
        st.cases.audit(
            Some(self.username()),
            crate::store::AuditAction::Logout,
            None,
            None,
            None,
            &self.remote,
        )
    }

    /// The user's name.
    pub fn username(&self) -> &str {
        &self.session.user.username
    }

    /// Checks a CSRF token the request carried against the session's.
    pub fn check_csrf(&self, provided: Option<&str>) -> Result<()> {
        match provided {
            Some(token) if auth::tokens_equal(token, &self.session.csrf) => Ok(()),
            _ => Err(AdjudicationError::Forbidden(
                "missing or wrong CSRF token".into(),
            )),
        }
    }

    /// Refuses users who may not read the audit trail.
    pub fn require_auditor(&self) -> Result<()> {
        if self.session.user.role.can_audit() {
            Ok(())
        } else {
            Err(AdjudicationError::Forbidden(
                "the audit trail is for auditors and supervisors".into(),
            ))
        }
    }
}

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = Ready<std::result::Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map_err(|e| {
            if is_api(req) {
                ApiError(e).into()
            } else {
                PageError(e).into()
            }
        }))
    }
}

fn is_api(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/")
}

fn authenticate(req: &HttpRequest) -> Result<Authenticated> {
    let st = req.app_data::<web::Data<AppState>>().ok_or_else(|| {
        AdjudicationError::Internal(anyhow::anyhow!("the console's state is not registered"))
    })?;
    let token = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or_else(|| AdjudicationError::Unauthenticated("log in first".into()))?;
    let session = st
        .cases
        .session(&token)?
        .ok_or_else(|| AdjudicationError::Unauthenticated("the session has expired".into()))?;
    if !session.user.role.can_use_console() {
        return Err(AdjudicationError::Forbidden(
            "this role uses SQL, not the console".into(),
        ));
    }
    let who = Authenticated {
        session,
        token,
        remote: remote(req),
    };
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD);
    if is_api(req) && changes_state {
        who.check_csrf(req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    }
    Ok(who)
}

/// Where the console takes the client's address from (the audit trail's `remote_addr` and
/// the login lockout's key): the TCP peer, unless the peer is one of `trusted_proxies` and
/// `header` is set, in which case the nearest address in that header that is not itself a
/// trusted proxy. A header from any other peer is ignored, so a client cannot choose its own
/// address.
#[derive(Clone, Debug, Default)]
pub struct ClientAddress {
    /// The header the DC's reverse proxy sets, e.g. `X-Forwarded-For` (a comma-separated
    /// list, the proxy appending the address it saw) or `X-Real-IP`.
    pub header: Option<String>,
    /// Addresses and networks of the reverse proxies whose header is believed.
    pub trusted_proxies: Vec<ProxyNet>,
}

/// An address or network of trusted reverse proxies.
pub type ProxyNet = ipnet::IpNet;

/// Parses a trusted proxy: an address (`10.1.2.3`) or a network (`10.1.0.0/16`).
pub fn parse_trusted_proxy(text: &str) -> std::result::Result<ProxyNet, String> {
    let text = text.trim();
    text.parse::<ProxyNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ProxyNet::from))
        .map_err(|_| format!("{text:?} is neither an address nor a CIDR network"))
}

impl ClientAddress {
    fn trusted(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request that came from `peer` carrying `header_value` (the
    /// configured header's value, if present).
    pub fn resolve(
        &self,
        peer: Option<std::net::IpAddr>,
        header_value: Option<&str>,
    ) -> Option<std::net::IpAddr> {
        let peer = peer?;
        if self.header.is_none() || !self.trusted(peer) {
            return Some(peer);
        }
        let Some(value) = header_value else {
            return Some(peer);
        };
        // Walk from the right (the hop nearest to us) past trusted proxies.
        let mut nearest = peer;
        for hop in value.rsplit(',') {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => {
                    nearest = ip;
                    if !self.trusted(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        Some(nearest)
    }
}

/// The client's address (as the audit trail records it and the lockout keys it), see
/// [`ClientAddress`].
pub fn remote(req: &HttpRequest) -> String {
    let config = req
        .app_data::<web::Data<AppState>>()
        .map(|st| st.config.client_address.clone())
        .unwrap_or_default();
    let header = config
        .header
        .as_deref()
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok());
    config
        .resolve(req.peer_addr().map(|a| a.ip()), header)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Logs in (the lockout of [`crate::auth::LoginLimits`] is the case store's, keyed by user
/// name and client address); the password check runs on the [`crate::auth::LoginGate`], off
/// the actix workers. Returns the session token and the session. Roles that may not use the
/// console are refused after the check (their session is ended at once).
pub async fn login(
    st: &web::Data<AppState>,
    req: &HttpRequest,
    username: &str,
    password: &str,
) -> Result<(String, Session)> {
    let addr = remote(req);
    let cases = st.cases.clone();
    let seconds = st.config.session_seconds;
    let (user, pass) = (username.to_string(), password.to_string());
    let (token, session) = st
        .login_gate
        .run(move || cases.login(&user, &pass, &addr, seconds))
        .await
        .inspect_err(super::metrics::login_refused)?;
    if !session.user.role.can_use_console() {
        st.cases.logout(&token)?;
        return Err(AdjudicationError::Forbidden(
            "this role uses SQL, not the console".into(),
        ));
    }
    Ok((token, session))
}

/// A cookie of the console: whole site, HTTP-only, SameSite=Strict, `Secure` as configured.
fn cookie(st: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(st.config.secure_cookies)
        .same_site(SameSite::Strict)
        .finish()
}

/// The session cookie, living as long as the session.
pub fn session_cookie(st: &AppState, token: &str) -> Cookie<'static> {
    let mut c = cookie(st, SESSION_COOKIE, token.to_string());
    c.set_max_age(actix_web::cookie::time::Duration::seconds(
        st.config.session_seconds,
    ));
    c
}

/// The login form's double-submit CSRF cookie.
pub fn login_csrf_cookie(st: &AppState, token: &str) -> Cookie<'static> {
    cookie(st, LOGIN_CSRF_COOKIE, token.to_string())
}

/// A cookie that removes the console's cookie `name`.
pub fn removal_cookie(st: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(st, name, String::new());
    c.make_removal();
    c
}
