//! The console's languages: Bahasa Indonesia by default, English as each user's choice.
//!
//! Every word a page shows comes from the Fluent message files under `adjudication/locales/`
//! (`id/console.ftl`, `en/console.ftl`), embedded in the binary at compile time and looked up
//! by templates through the function `t("message-id", name=value, …)`. The choice is a cookie
//! ([`LANG_COOKIE`]) set by `GET /lang/{id|en}` (the switch on every page, the login page
//! included); a logged-in user's switch is also stored in their account, and their login sets
//! the cookie from it ([`chosen_cookie`]), so the choice follows the user to any browser.
//! Without a choice a page is in Bahasa Indonesia. Error pages follow the same choice through
//! [`localise_errors`].
//!
//! The one idea to hold in mind: a template never holds a user-visible word, only message
//! ids, and the unit test below checks that every id a template uses exists in both files.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::{ready, Ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use minijinja::value::Kwargs;
use serde::Deserialize;

use super::error::PageError;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "id",
        // Plain text: no Unicode isolation marks around numbers and names.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Name of the cookie holding the chosen language.
pub const LANG_COOKIE: &str = "tunggal_lang";

/// A language of the console.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Bahasa Indonesia, the default.
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// Every language, default first.
    pub const ALL: [Lang; 2] = [Lang::Id, Lang::En];

    /// The language's code (`id`, `en`), as in the cookie, the URL and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// The language of a code; `None` for any other text.
    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language a request asks for: its cookie, else Bahasa Indonesia.
    pub fn of(req: &HttpRequest) -> Lang {
        req.cookie(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .unwrap_or_default()
    }

    fn identifier(self) -> LanguageIdentifier {
        self.code().parse().expect("language codes parse")
    }
}

/// Looks up message `id` in `lang` with `args`; a missing message shows as its id (and the
/// unit test makes that a failure, not something users see).
pub fn message(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
        .iter()
        .map(|(k, v)| (Cow::Owned(k.to_string()), fluent_value(v.clone())))
        .collect();
    LOCALES
        .try_lookup_with_args(&lang.identifier(), id, &args)
        .unwrap_or_else(|| id.to_string())
}

/// Whole numbers become Fluent numbers (so plural forms work), anything else stays text.
fn fluent_value(v: String) -> FluentValue<'static> {
    match v.parse::<i64>() {
        Ok(n) => FluentValue::from(n),
        Err(_) => FluentValue::from(v),
    }
}

/// The template function `t(id, name=value, …)`: the message in the page's language (the
/// render context's `lang`).
pub fn template_function(
    state: &minijinja::State,
    id: &str,
    kwargs: Kwargs,
) -> std::result::Result<String, minijinja::Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_default();
    let mut args = Vec::new();
    for key in kwargs.args() {
        let value: minijinja::Value = kwargs.get(key)?;
        args.push((key, value.to_string()));
    }
    Ok(message(lang, id, &args))
}

/// Registers the template function `t` and the filter `num` on `env`.
pub fn register(env: &mut minijinja::Environment<'static>) {
    env.add_function("t", template_function);
    env.add_filter("num", number_filter);
}

/// The filter `|num(decimals)`: a number as the page's language writes it, with that many
/// decimals (`115,9` and `1.000.000` in Bahasa Indonesia, `115.9` and `1,000,000` in
/// English); none shows as `–`.
fn number_filter(
    state: &minijinja::State,
    value: minijinja::Value,
    decimals: Option<usize>,
) -> String {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_default();
    match f64::try_from(value) {
        Ok(v) if v.is_finite() => number(lang, v, decimals.unwrap_or(0)),
        _ => "–".into(),
    }
}

/// `v` with `decimals` decimals in `lang`'s separators.
pub fn number(lang: Lang, v: f64, decimals: usize) -> String {
    let (group, point) = match lang {
        Lang::Id => ('.', ','),
        Lang::En => (',', '.'),
    };
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('−');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(group);
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(point);
        out.push_str(frac);
    }
    out
}

/// The request's language and the page it is on (for the switch's way back).
#[derive(Clone, Debug)]
pub struct PageLang {
    /// The language.
    pub lang: Lang,
    /// Path and query of the request.
    pub here: String,
}

impl PageLang {
    /// The language and page of a request.
    pub fn of(req: &HttpRequest) -> PageLang {
        let here = match req.uri().path_and_query() {
            Some(pq) => pq.as_str().to_string(),
            None => req.path().to_string(),
        };
        PageLang {
            lang: Lang::of(req),
            here,
        }
    }

    /// The page as a query value (`next=` of the switch's link), percent-encoded.
    pub fn here_query(&self) -> String {
        percent_encode(&self.here)
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Message ids the templates build from a vocabulary (`t("state-" ~ case.state)`): one for
/// every value, so the test below can check them all.
pub fn dynamic_message_ids() -> Vec<String> {
    use crate::store::{CaseKind, CaseState, DecisionState};
    use lake::vocabulary::{Band, IdentityStatus, Outcome, Relation};
    let mut ids = Vec::new();
    ids.extend(CaseState::ALL.iter().map(|v| format!("state-{v}")));
    ids.extend(CaseKind::ALL.iter().map(|v| format!("kind-{v}")));
    ids.extend(DecisionState::ALL.iter().map(|v| format!("dstate-{v}")));
    ids.extend(Outcome::ALL.iter().map(|v| format!("outcome-{v}")));
    ids.extend(Outcome::ALL.iter().map(|v| format!("outcome-choice-{v}")));
    ids.extend(IdentityStatus::ALL.iter().map(|v| format!("status-{v}")));
    ids.extend(Band::ALL.iter().map(|v| format!("band-{v}")));
    ids.extend(Relation::ALL.iter().map(|v| format!("relation-{v}")));
    ids.extend(
        crate::auth::Role::ALL
            .iter()
            .map(|r| format!("role-{}", r.as_str())),
    );
    ids.extend(
        crate::evidence::FIELDS
            .iter()
            .map(|f| format!("field-{}", f.0)),
    );
    ids.extend((1..=10).map(|p| format!("finger-{p}")));
    ids.extend(["eye-right", "eye-left"].map(String::from));
    ids.extend(["claim", "release", "decide", "confirm", "reject"].map(|a| format!("done-{a}")));
    ids.extend([400, 403, 404, 409, 429, 500].map(|s| format!("error-title-{s}")));
    ids.extend(["login-failed", "login-locked"].map(String::from));
    ids
}

impl FromRequest for PageLang {
    type Error = actix_web::Error;
    type Future = Ready<std::result::Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(PageLang::of(req)))
    }
}

#[derive(Deserialize)]
struct SwitchQuery {
    #[serde(default)]
    next: Option<String>,
}

/// A local path to go back to: absolute, not protocol-relative, no backslash (which some
/// browsers read as a slash), so the switch never redirects off the console.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => "/queue",
    }
}

/// The language cookie (a year) for `lang`.
fn lang_cookie(st: &super::AppState, lang: Lang) -> Cookie<'static> {
    Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .http_only(true)
        .secure(st.config.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The language cookie of the language `username` chose, for the response to their login:
/// the choice is the user's, whatever browser they log in from. `None` when they never
/// chose (or the case store cannot say: the default then applies).
pub fn chosen_cookie(st: &super::AppState, username: &str) -> Option<Cookie<'static>> {
    let code = st.cases.language(username).ok().flatten()?;
    Lang::parse(&code).map(|lang| lang_cookie(st, lang))
}

/// `GET /lang/{code}?next=/path`: remembers the language in a cookie (a year), and for a
/// logged-in user in their account too, and goes back.
async fn switch(
    st: web::Data<super::AppState>,
    code: web::Path<String>,
    q: web::Query<SwitchQuery>,
    who: Option<super::auth::Authenticated>,
) -> actix_web::Result<HttpResponse> {
    let lang = Lang::parse(&code).ok_or_else(|| {
        PageError(crate::error::AdjudicationError::NotFound(format!(
            "language {:?}",
            code.as_str()
        )))
    })?;
    if let Some(who) = who {
        st.cases
            .set_language(&who.session.user.username, lang.code())
            .map_err(PageError)?;
    }
    let cookie = lang_cookie(&st, lang);
    let mut r = super::pages::redirect(local_path(q.next.as_deref()));
    r.add_cookie(&cookie).map_err(actix_web::Error::from)?;
    Ok(r)
}

/// Registers the language switch.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/lang/{code}", web::get().to(switch));
}

/// Middleware: renders the error page of a failed HTML request again in the request's
/// language (a [`PageError`] becomes a response where the request is no longer at hand).
pub async fn localise_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> std::result::Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lang = Lang::of(req.request());
    let res = next.call(req).await?;
    if lang == Lang::default() {
        return Ok(res.map_into_boxed_body());
    }
    let page = res
        .response()
        .error()
        .and_then(|e| e.as_error::<PageError>())
        .and_then(|e| e.page(lang));
    match page {
        Some(body) => Ok(res.map_body(|_, _| BoxBody::new(body))),
        None => Ok(res.map_into_boxed_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids_of(ftl: &str) -> BTreeSet<String> {
        ftl.lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_string()))
            .collect()
    }

    /// Message ids a template names literally: `t("…"`.
    fn ids_used(source: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = source;
        while let Some(i) = rest.find("t(\"") {
            rest = &rest[i + 3..];
            // `t("state-" ~ …)` names a family, checked through `dynamic_message_ids`.
            if let Some(end) = rest.find('"').filter(|&e| !rest[..e].ends_with('-')) {
                out.insert(rest[..end].to_string());
            }
        }
        out
    }

    #[test]
    fn every_message_a_template_uses_exists_in_both_languages() {
        let id = ids_of(include_str!("../../locales/id/console.ftl"));
        let en = ids_of(include_str!("../../locales/en/console.ftl"));
        assert_eq!(
            id.symmetric_difference(&en).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "both files hold the same messages"
        );
        let mut used = BTreeSet::new();
        for (_, source) in super::super::TEMPLATE_SOURCES {
            used.extend(ids_used(source));
        }
        // Ids built from a vocabulary: every value of it must have its message.
        for dynamic in dynamic_message_ids() {
            used.insert(dynamic);
        }
        assert!(used.len() > 100, "templates use {} messages", used.len());
        let missing: Vec<_> = used.iter().filter(|u| !id.contains(*u)).collect();
        assert!(missing.is_empty(), "missing messages: {missing:?}");
        // And the binary carries both files.
        for lang in Lang::ALL {
            assert!(
                LOCALES.locales().any(|l| *l == lang.identifier()),
                "{} embedded",
                lang.code()
            );
            assert!(LOCALES
                .try_lookup(&lang.identifier(), "state-open")
                .is_some());
        }
    }

    #[test]
    fn messages_differ_by_language_and_take_arguments() {
        assert_eq!(message(Lang::Id, "nav-queue", &[]), "Antrean kasus");
        assert_eq!(message(Lang::En, "nav-queue", &[]), "Case queue");
        let one = message(Lang::En, "queue-count", &[("n", "1".into())]);
        let many = message(Lang::En, "queue-count", &[("n", "3".into())]);
        assert!(one.starts_with("1 case,"), "{one}");
        assert!(many.starts_with("3 cases,"), "{many}");
        assert!(message(Lang::Id, "queue-count", &[("n", "3".into())]).starts_with("3 kasus"));
    }

    #[test]
    fn numbers_use_each_language_s_separators() {
        assert_eq!(number(Lang::Id, 115.90272521972656, 1), "115,9");
        assert_eq!(number(Lang::En, 115.90272521972656, 1), "115.9");
        assert_eq!(number(Lang::Id, 1_000_000.0, 0), "1.000.000");
        assert_eq!(number(Lang::En, 1234567.891, 2), "1,234,567.89");
        assert_eq!(number(Lang::En, -0.071, 3), "−0.071");
        assert_eq!(number(Lang::En, -0.0001, 1), "0.0");
        assert_eq!(number(Lang::Id, 20.7, 1), "20,7");
    }

    #[test]
    fn the_switch_goes_back_only_to_a_local_page() {
        assert_eq!(
            local_path(Some("/cases/abc?msg=claim")),
            "/cases/abc?msg=claim"
        );
        assert_eq!(local_path(Some("//evil.example/")), "/queue");
        assert_eq!(local_path(Some("https://evil.example/")), "/queue");
        assert_eq!(local_path(Some("/\\evil.example")), "/queue");
        assert_eq!(local_path(None), "/queue");
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
