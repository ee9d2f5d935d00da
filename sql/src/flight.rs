//! `tunggal serve-sql`: the lake over Arrow Flight SQL, for BI tools (DBeaver, Superset, any
//! ADBC or JDBC Flight SQL client), authenticated, read-only, limited and audited.
//!
//! The one idea to hold in mind: every call resolves its bearer token to a [`Principal`]
//! (checked against the user store on every call, so a disabled user or a reset password ends
//! a token at once), and every statement is planned by a [`Session`] restricted to what that
//! principal's role may read ([`crate::policy`]), with [`crate::Access::QueryOnly`]; the update,
//! ingest and transaction calls of Flight SQL are left unimplemented, so they are refused
//! too. Each query opens the tables afresh, so a client sees the lake's latest commit.
//!
//! Authentication, two ways:
//! - a shared bearer token (`--token` / `TUNGGAL_SQL_TOKEN`): the client sends the header
//!   `authorization: Bearer <token>` on every call; it reads as the `analyst` role;
//! - user name and password through an [`Authenticator`]: the client's Flight handshake
//!   sends `authorization: Basic …`, the server answers with a session token
//!   (`authorization: Bearer …`) that the client sends from then on. The console's user store
//!   implements [`Authenticator`] (in the CLI), so analysts log in with their console
//!   accounts, under the console's lockout; [`StaticUsers`] holds users given on the command
//!   line (role `analyst`).
//!
//! Limits ([`Limits`]): password checks run on the blocking pool, a few at a time; queries
//! run at most `max_queries` at once, each within `query_timeout`, all in one memory pool of
//! `memory_bytes`. Every statement is audited ([`StatementRecord`]): who, the SHA-256 of its
//! text (the text itself may hold a NIK), rows returned and outcome.
//!
//! The statement handle in a ticket is the SQL text itself: tickets are only valid with a
//! valid token, and planning again at `DoGet` keeps the server stateless.

// tonic::Status is large; returning it by value is what the FlightSqlService trait asks for.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::datatypes::Schema;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandStatementQuery, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use base64::Engine;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use crate::policy::{self, Grant};
use crate::{Session, SqlError};

/// Who is calling: a user and their role (the shared token reads as an analyst without a
/// user name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user name; `None` for the shared token.
    pub user: Option<String>,
    /// The role, whose [`Grant`] decides what the caller reads.
    pub role: String,
}

impl Principal {
    /// The user name as logs and the audit show it.
    pub fn name(&self) -> &str {
        self.user.as_deref().unwrap_or("(shared token)")
    }
}

/// Why a login was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong user name or password, or a disabled user (one answer for all three).
    Refused,
    /// The user name or address has used up its failure budget; the password was not checked.
    LockedOut,
    /// Too many logins at once, or the user store failed.
    Unavailable(String),
}

/// One statement as the audit trail records it: never the text (it may hold a NIK), its
/// SHA-256; the rows sent; and how it ended (`ok`, `error`, `refused`, `timeout`,
/// `cancelled`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRecord {
    /// Lowercase hex SHA-256 of the SQL text.
    pub sql_sha256: String,
    /// Rows sent to the client.
    pub rows: u64,
    /// How it ended.
    pub outcome: &'static str,
}

impl StatementRecord {
    /// A statement refused before planning because every query slot stayed taken.
    fn busy() -> StatementRecord {
        StatementRecord {
            sql_sha256: String::new(),
            rows: 0,
            outcome: "busy",
        }
    }

    /// The audit row's detail: `flight-sql sha256=… rows=… outcome=…`.
    pub fn detail(&self) -> String {
        format!(
            "flight-sql sha256={} rows={} outcome={}",
            self.sql_sha256, self.rows, self.outcome
        )
    }
}

/// The user store behind Flight SQL logins. Every method may block (argon2, SQLite): the
/// server calls them on the blocking pool. Implementations must not log passwords or tokens.
///
/// The console's case store implements it (see `tunggal serve-sql --console-users`): logins
/// share the console's lockout, tokens are console sessions (expiring, ended by `users
/// disable` and `users reset-password`), statements go to the console's audit trail.
pub trait Authenticator: Send + Sync + 'static {
    /// Checks `password` for `user` calling from `remote` (client IP); on success a new
    /// session token and the caller.
    fn login(
        &self,
        user: &str,
        password: &str,
        remote: &str,
    ) -> Result<(String, Principal), LoginError>;

    /// The caller holding `token` now: `None` once the token expired, was revoked or its user
    /// disabled. Called on every call.
    fn session(&self, token: &str) -> Option<Principal>;

    /// Records one statement of `who` from `remote` (default: the log, without the text).
    fn audit(&self, who: &Principal, remote: &str, record: &StatementRecord) {
        log_statement(who, remote, record);
    }
}

/// Installs the process's recorder ([`lake::metrics`]) and describes serve-sql's families,
/// once.
fn ensure_metrics() {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    lake::metrics::handle();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            "tunggal_sql_queries_total",
            "Flight SQL statements by role and outcome (ok, error, refused, timeout, cancelled, busy)."
        );
        metrics::describe_histogram!(
            "tunggal_sql_query_duration_seconds",
            metrics::Unit::Seconds,
            "Time from a query's start to its last row (or its end), by role."
        );
        metrics::describe_counter!(
            "tunggal_sql_rows_total",
            "Rows sent to Flight SQL clients, by role."
        );
        metrics::describe_counter!(
            "tunggal_sql_logins_failed_total",
            "Flight SQL logins refused for a wrong user name or password (or a disabled user)."
        );
        metrics::describe_counter!(
            "tunggal_sql_logins_locked_total",
            "Flight SQL logins refused without a password check: over the failure budget."
        );
    });
}

/// Counts one statement: by role and outcome; the rows and duration of one that ran
/// (`elapsed`). The role is one of the policy's roles, never a user name.
fn count_statement(role: &str, record: &StatementRecord, elapsed: Option<Duration>) {
    ensure_metrics();
    let role = role.to_string();
    metrics::counter!("tunggal_sql_queries_total", "role" => role.clone(), "outcome" => record.outcome)
        .increment(1);
    if let Some(elapsed) = elapsed {
        metrics::histogram!("tunggal_sql_query_duration_seconds", "role" => role.clone())
            .record(elapsed.as_secs_f64());
        metrics::counter!("tunggal_sql_rows_total", "role" => role).increment(record.rows);
    }
}

/// Counts a refused login: for the password, or (`locked`) for the lockout.
fn count_login_refused(locked: bool) {
    ensure_metrics();
    if locked {
        metrics::counter!("tunggal_sql_logins_locked_total").increment(1);
    } else {
        metrics::counter!("tunggal_sql_logins_failed_total").increment(1);
    }
}

fn log_statement(who: &Principal, remote: &str, record: &StatementRecord) {
    tracing::info!(
        user = who.name(),
        role = %who.role,
        remote,
        sql_sha256 = %record.sql_sha256,
        rows = record.rows,
        outcome = record.outcome,
        "flight sql: statement"
    );
}

/// Users and passwords held in memory (e.g. from the command line), all with the `analyst`
/// role; their tokens live in memory for `lifetime`.
#[derive(Debug, Default)]
pub struct StaticUsers {
    users: HashMap<String, String>,
    lifetime: Duration,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl StaticUsers {
    /// Users from `user:password` pairs, whose tokens live `lifetime`.
    pub fn new(
        pairs: impl IntoIterator<Item = (String, String)>,
        lifetime: Duration,
    ) -> StaticUsers {
        StaticUsers {
            users: pairs.into_iter().collect(),
            lifetime,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn verify(&self, user: &str, password: &str) -> bool {
        self.users
            .get(user)
            .is_some_and(|p| constant_time_eq(p.as_bytes(), password.as_bytes()))
    }
}

impl Authenticator for StaticUsers {
    fn login(
        &self,
        user: &str,
        password: &str,
        _remote: &str,
    ) -> Result<(String, Principal), LoginError> {
        if !self.verify(user, password) {
            return Err(LoginError::Refused);
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        tokens.retain(|_, (_, until)| *until > now);
        tokens.insert(token.clone(), (user.to_string(), now + self.lifetime));
        Ok((
            token,
            Principal {
                user: Some(user.to_string()),
                role: policy::ANALYST.role.to_string(),
            },
        ))
    }

    fn session(&self, token: &str) -> Option<Principal> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let (user, until) = tokens.get(token)?;
        (*until > Instant::now()).then(|| Principal {
            user: Some(user.clone()),
            role: policy::ANALYST.role.to_string(),
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who may connect: a shared token, a user store, or both. With neither, nobody can.
#[derive(Clone, Default)]
pub struct Auth {
    /// The shared bearer token, if any (role `analyst`).
    pub token: Option<String>,
    /// The user store for user/password logins, if any.
    pub users: Option<Arc<dyn Authenticator>>,
}

/// The server's resource limits (docs/security.md). The defaults suit a DC server shared by a
/// few BI users; every one is a flag of `tunggal serve-sql`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Memory all running queries may hold together (DataFusion's memory pool); a query that
    /// needs more fails with "Resources exhausted".
    pub memory_bytes: usize,
    /// Longest a query may run (planning and streaming its rows).
    pub query_timeout: Duration,
    /// Queries running at once; others wait up to `queue_wait`, then are refused.
    pub max_queries: usize,
    /// How long a query waits for a free slot.
    pub queue_wait: Duration,
    /// Password checks running at once (argon2 is deliberately slow); others wait up to
    /// `login_wait`, then are refused.
    pub max_logins: usize,
    /// How long a login waits for a free slot.
    pub login_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Limits {
            memory_bytes: 1 << 30,
            query_timeout: Duration::from_secs(300),
            max_queries: 4,
            queue_wait: Duration::from_secs(30),
            max_logins: (cores / 2).max(1),
            login_wait: Duration::from_secs(10),
        }
    }
}

/// A caller and the address it called from.
#[derive(Clone, Debug)]
struct Caller {
    who: Principal,
    grant: Grant,
    remote: String,
}

/// The Flight SQL service over one store.
#[derive(Clone)]
pub struct LakeFlightSql {
    store: lake::Store,
    auth: Auth,
    limits: Limits,
    runtime: Arc<RuntimeEnv>,
    queries: Arc<Semaphore>,
    logins: Arc<Semaphore>,
    info: Arc<SqlInfoData>,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn internal(err: impl std::fmt::Display) -> Status {
    Status::internal(err.to_string())
}

fn sql_status(err: SqlError) -> Status {
    match err {
        SqlError::Query(e) => Status::invalid_argument(e.to_string()),
        SqlError::Statements(e) => Status::invalid_argument(e),
        other => Status::internal(other.to_string()),
    }
}

/// Lowercase hex SHA-256 of a statement's text.
fn sql_hash(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// The client's IP address as tonic saw it.
fn remote_of<T>(request: &Request<T>) -> String {
    request
        .remote_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

impl LakeFlightSql {
    /// A service over `store` admitting whom `auth` admits, within `limits`.
    pub fn new(store: lake::Store, auth: Auth, limits: Limits) -> Result<LakeFlightSql, SqlError> {
        let mut info = SqlInfoDataBuilder::new();
        info.append(SqlInfo::FlightSqlServerName, "tunggal");
        info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        info.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
        info.append(SqlInfo::FlightSqlServerReadOnly, true);
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(limits.memory_bytes, 1.0)
            .build_arc()?;
        Ok(LakeFlightSql {
            store,
            auth,
            queries: Arc::new(Semaphore::new(limits.max_queries.max(1))),
            logins: Arc::new(Semaphore::new(limits.max_logins.max(1))),
            limits,
            runtime,
            info: Arc::new(
                info.build()
                    .map_err(|e| SqlError::Io(std::io::Error::other(e.to_string())))?,
            ),
        })
    }

    /// The caller of a call carrying a valid bearer token (the shared one, or a live session
    /// of the user store, looked up anew on every call).
    async fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("authorization required"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| Status::unauthenticated("expected a bearer token"))?
            .to_string();
        let who = self
            .principal(token)
            .await?
            .ok_or_else(|| Status::unauthenticated("invalid or expired token"))?;
        let grant = policy::grant_for_role(&who.role)
            .ok_or_else(|| Status::permission_denied("this role may not use SQL"))?;
        Ok(Caller {
            who,
            grant,
            remote: remote_of(request),
        })
    }

    async fn principal(&self, token: String) -> Result<Option<Principal>, Status> {
        let shared = self
            .auth
            .token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
        if shared {
            return Ok(Some(Principal {
                user: None,
                role: policy::ANALYST.role.to_string(),
            }));
        }
        let Some(users) = self.auth.users.clone() else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || users.session(&token))
            .await
            .map_err(internal)
    }

    /// Checks a user name and password on the blocking pool, at most
    /// [`Limits::max_logins`] at once.
    async fn login(
        &self,
        user: String,
        password: String,
        remote: String,
    ) -> Result<(String, Principal), Status> {
        let users = self
            .auth
            .users
            .clone()
            .ok_or_else(|| Status::unauthenticated("user logins are not enabled"))?;
        let _permit =
            tokio::time::timeout(self.limits.login_wait, self.logins.clone().acquire_owned())
                .await
                .map_err(|_| Status::resource_exhausted("too many logins at once; try again"))?
                .map_err(internal)?;
        let outcome = tokio::task::spawn_blocking(move || users.login(&user, &password, &remote))
            .await
            .map_err(internal)?;
        match outcome {
            Ok(ok) => Ok(ok),
            Err(LoginError::Refused) => {
                count_login_refused(false);
                Err(Status::unauthenticated("invalid user or password"))
            }
            Err(LoginError::LockedOut) => {
                count_login_refused(true);
                Err(Status::resource_exhausted(
                    "too many failed logins; wait a few minutes",
                ))
            }
            Err(LoginError::Unavailable(why)) => Err(Status::unavailable(why)),
        }
    }

    /// Records one statement in the user store's audit trail (or the log), on the blocking
    /// pool, and waits for it.
    async fn audit(&self, caller: &Caller, record: StatementRecord) {
        let (who, remote) = (caller.who.clone(), caller.remote.clone());
        match self.auth.users.clone() {
            Some(users) => {
                let _ =
                    tokio::task::spawn_blocking(move || users.audit(&who, &remote, &record)).await;
            }
            None => log_statement(&who, &remote, &record),
        }
    }

    async fn session(&self, caller: &Caller) -> Result<Session, Status> {
        Session::open_restricted(&self.store, self.runtime.clone(), &caller.grant)
            .await
            .map_err(sql_status)
    }

    /// Plans `sql` for `caller`; a refused statement is audited.
    async fn plan(
        &self,
        caller: &Caller,
        sql: &str,
    ) -> Result<datafusion::dataframe::DataFrame, Status> {
        let planned = match self.session(caller).await {
            Ok(session) => session.plan(sql).await.map_err(sql_status),
            Err(e) => Err(e),
        };
        if planned.is_err() {
            let record = StatementRecord {
                sql_sha256: sql_hash(sql),
                rows: 0,
                outcome: "refused",
            };
            count_statement(&caller.who.role, &record, None);
            self.audit(caller, record).await;
        }
        planned
    }

    async fn schema_of(&self, caller: &Caller, sql: &str) -> Result<Schema, Status> {
        let frame = self.plan(caller, sql).await?;
        Ok(frame.schema().as_arrow().clone())
    }

    /// Runs `sql` for `caller` within the limits: a query slot, the timeout, the memory pool;
    /// audited when it ends, however it ends.
    async fn stream(
        &self,
        caller: &Caller,
        sql: &str,
    ) -> Result<Response<BoxStream<arrow_flight::FlightData>>, Status> {
        let permit =
            tokio::time::timeout(self.limits.queue_wait, self.queries.clone().acquire_owned())
                .await
                .map_err(|_| {
                    count_statement(&caller.who.role, &StatementRecord::busy(), None);
                    Status::resource_exhausted("too many queries running; try again later")
                })?
                .map_err(internal)?;
        let deadline = tokio::time::Instant::now() + self.limits.query_timeout;
        let mut guard = AuditGuard {
            service: self.clone(),
            caller: caller.clone(),
            sql_sha256: sql_hash(sql),
            rows: 0,
            recorded: false,
            started: Instant::now(),
        };
        let started = tokio::time::timeout_at(deadline, async {
            let frame = self.plan(caller, sql).await?;
            let schema = Arc::new(frame.schema().as_arrow().clone());
            let batches = frame
                .execute_stream()
                .await
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            Ok::<_, Status>((schema, batches))
        })
        .await;
        let (schema, batches) = match started {
            Ok(Ok(ok)) => ok,
            Ok(Err(e)) => {
                // Planning failures were audited as refused.
                guard.recorded = true;
                return Err(e);
            }
            Err(_) => {
                guard.finish("timeout").await;
                return Err(Status::deadline_exceeded("the query ran out of time"));
            }
        };
        let running = Running {
            batches,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            guard,
            _permit: permit,
            done: false,
            timeout: self.limits.query_timeout,
        };
        let batches = futures::stream::unfold(running, Running::next);
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    fn info_for(
        &self,
        schema: &Schema,
        ticket: Vec<u8>,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(internal)?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }

    fn batch_stream(
        schema: arrow::datatypes::SchemaRef,
        batch: Result<arrow::array::RecordBatch, FlightError>,
    ) -> Response<BoxStream<arrow_flight::FlightData>> {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async move { batch }))
            .map_err(Status::from);
        Response::new(Box::pin(stream))
    }
}

/// Records a statement once: when it ends ([`AuditGuard::finish`]), or, if the client goes
/// away first, when the stream is dropped (`cancelled`).
struct AuditGuard {
    service: LakeFlightSql,
    caller: Caller,
    sql_sha256: String,
    rows: u64,
    recorded: bool,
    started: Instant,
}

impl AuditGuard {
    fn record(&self, outcome: &'static str) -> StatementRecord {
        StatementRecord {
            sql_sha256: self.sql_sha256.clone(),
            rows: self.rows,
            outcome,
        }
    }

    async fn finish(&mut self, outcome: &'static str) {
        if !self.recorded {
            self.recorded = true;
            let record = self.record(outcome);
            count_statement(&self.caller.who.role, &record, Some(self.started.elapsed()));
            self.service.audit(&self.caller, record).await;
        }
    }
}

impl Drop for AuditGuard {
    fn drop(&mut self) {
        if self.recorded {
            return;
        }
        let record = self.record("cancelled");
        count_statement(&self.caller.who.role, &record, Some(self.started.elapsed()));
        let (who, remote) = (self.caller.who.clone(), self.caller.remote.clone());
        match (
            self.service.auth.users.clone(),
            tokio::runtime::Handle::try_current(),
        ) {
            (Some(users), Ok(handle)) => {
                handle.spawn_blocking(move || users.audit(&who, &remote, &record));
            }
            (Some(users), Err(_)) => users.audit(&who, &remote, &record),
            (None, _) => log_statement(&who, &remote, &record),
        }
    }
}

/// A query's rows on their way out, with its slot, deadline and audit.
struct Running {
    batches: datafusion::execution::SendableRecordBatchStream,
    deadline: Pin<Box<tokio::time::Sleep>>,
    guard: AuditGuard,
    _permit: OwnedSemaphorePermit,
    done: bool,
    timeout: Duration,
}

impl Running {
    async fn next(mut self) -> Option<(Result<arrow::array::RecordBatch, FlightError>, Running)> {
        if self.done {
            return None;
        }
        // Either the next batch or the deadline, whichever comes first.
        let next = tokio::select! {
            next = self.batches.next() => Some(next),
            _ = &mut self.deadline => None,
        };
        let Some(next) = next else {
            self.done = true;
            self.guard.finish("timeout").await;
            let message = format!("the query ran out of time ({} s)", self.timeout.as_secs());
            let status = Status::deadline_exceeded(message);
            return Some((Err(FlightError::Tonic(Box::new(status))), self));
        };
        match next {
            Some(Ok(batch)) => {
                self.guard.rows += batch.num_rows() as u64;
                Some((Ok(batch), self))
            }
            Some(Err(e)) => {
                self.done = true;
                self.guard.finish("error").await;
                Some((Err(FlightError::ExternalError(Box::new(e))), self))
            }
            None => {
                self.guard.finish("ok").await;
                None
            }
        }
    }
}

fn handle_sql(handle: &[u8]) -> Result<String, Status> {
    String::from_utf8(handle.to_vec()).map_err(|_| Status::invalid_argument("bad statement handle"))
}

#[tonic::async_trait]
impl FlightSqlService for LakeFlightSql {
    type FlightService = LakeFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<BoxStream<HandshakeResponse>>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("authorization required"))?
            .to_string();
        let token = if let Some(basic) = header.strip_prefix("Basic ") {
            // Padding is optional: Go's Flight client (ADBC) sends unpadded base64.
            let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(basic.trim().trim_end_matches('='))
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Status::unauthenticated("malformed basic credentials"))?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or_else(|| Status::unauthenticated("malformed basic credentials"))?;
            let remote = remote_of(&request);
            let (token, who) = self
                .login(user.to_string(), password.to_string(), remote)
                .await
                .inspect_err(|_| tracing::info!("flight sql: login refused"))?;
            tracing::info!(user = who.name(), role = %who.role, "flight sql: login");
            token
        } else if let Some(bearer) = header.strip_prefix("Bearer ") {
            if self.principal(bearer.to_string()).await?.is_none() {
                return Err(Status::unauthenticated("invalid or expired token"));
            }
            bearer.to_string()
        } else {
            return Err(Status::unauthenticated("expected Basic or Bearer"));
        };
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        };
        let mut response: Response<BoxStream<HandshakeResponse>> =
            Response::new(Box::pin(futures::stream::iter([Ok(reply)])));
        let value = MetadataValue::try_from(format!("Bearer {token}")).map_err(internal)?;
        response.metadata_mut().insert("authorization", value);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let caller = self.caller(&request).await?;
        let schema = self.schema_of(&caller, &query.query).await?;
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        self.info_for(
            &schema,
            ticket.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = self.caller(&request).await?;
        let sql = handle_sql(&ticket.statement_handle)?;
        self.stream(&caller, &sql).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let caller = self.caller(&request).await?;
        let schema = self.schema_of(&caller, &query.query).await?;
        let message: IpcMessage =
            SchemaAsIpc::new(&schema, &arrow::ipc::writer::IpcWriteOptions::default())
                .try_into()
                .map_err(internal)?;
        let IpcMessage(schema_bytes) = message;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: query.query.into_bytes().into(),
            dataset_schema: schema_bytes,
            parameter_schema: Default::default(),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let _caller = self.caller(&request).await?;
        Ok(())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let caller = self.caller(&request).await?;
        let sql = handle_sql(&cmd.prepared_statement_handle)?;
        let schema = self.schema_of(&caller, &sql).await?;
        self.info_for(&schema, cmd.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = self.caller(&request).await?;
        let sql = handle_sql(&cmd.prepared_statement_handle)?;
        self.stream(&caller, &sql).await
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let _caller = self.caller(&request).await?;
        let schema = query.clone().into_builder(&self.info).schema();
        self.info_for(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let _caller = self.caller(&request).await?;
        let builder = query.into_builder(&self.info);
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build()))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let _caller = self.caller(&request).await?;
        let schema = query.into_builder().schema();
        self.info_for(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let _caller = self.caller(&request).await?;
        let mut builder = query.into_builder();
        builder.append("datafusion");
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build()))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let _caller = self.caller(&request).await?;
        let schema = query.clone().into_builder().schema();
        self.info_for(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let _caller = self.caller(&request).await?;
        let mut builder = query.into_builder();
        builder.append("datafusion", "public");
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build()))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let _caller = self.caller(&request).await?;
        let schema = query.into_builder().schema();
        self.info_for(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let _caller = self.caller(&request).await?;
        let mut builder = query.into_builder();
        builder.append("TABLE");
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build()))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let _caller = self.caller(&request).await?;
        let schema = query.clone().into_builder().schema();
        self.info_for(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = self.caller(&request).await?;
        let session = self.session(&caller).await?;
        let mut builder = query.into_builder();
        for name in session.table_names() {
            let provider = session
                .context()
                .table_provider(name.as_str())
                .await
                .map_err(internal)?;
            builder
                .append("datafusion", "public", &name, "TABLE", &provider.schema())
                .map_err(internal)?;
        }
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build()))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// A running Flight SQL server.
pub struct Server {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Server {
    /// Waits until the server stops (it stops only on error).
    pub async fn wait(self) -> Result<(), SqlError> {
        self.task
            .await
            .map_err(|e| SqlError::Io(std::io::Error::other(e.to_string())))?
            .map_err(|e| SqlError::Io(std::io::Error::other(e.to_string())))
    }
}

/// Binds `addr` (port 0: any free port) and serves `store` over Flight SQL in the background,
/// admitting whom `auth` admits, within `limits`; over TLS when `tls` is given (`grpc+tls://`).
pub async fn serve(
    store: lake::Store,
    auth: Auth,
    limits: Limits,
    addr: SocketAddr,
    tls: Option<crate::tls::Tls>,
) -> Result<Server, SqlError> {
    ensure_metrics();
    let service = FlightServiceServer::new(LakeFlightSql::new(store, auth, limits)?);
    let (addr, task) = match tls {
        None => {
            let incoming =
                tonic::transport::server::TcpIncoming::bind(addr)?.with_nodelay(Some(true));
            let addr = incoming.local_addr()?;
            let task = tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(incoming),
            );
            (addr, task)
        }
        Some(tls) => {
            let (listener, addr) = crate::tls::bind(addr).await?;
            let task = tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(tls.incoming(listener)),
            );
            (addr, task)
        }
    };
    Ok(Server { addr, task })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Access;

    #[test]
    fn static_users_check_both_name_and_password_and_tokens_expire() {
        let users = StaticUsers::new(
            [("ana".to_string(), "s3cret".to_string())],
            Duration::from_millis(100),
        );
        assert_eq!(users.login("ana", "s3cre", "ip"), Err(LoginError::Refused));
        assert_eq!(users.login("bob", "s3cret", "ip"), Err(LoginError::Refused));
        let (token, who) = users.login("ana", "s3cret", "ip").unwrap();
        assert_eq!(who.role, "analyst");
        assert_eq!(users.session(&token), Some(who));
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(users.session(&token), None, "an expired token was admitted");
    }

    fn service(dir: &tempfile::TempDir, limits: Limits) -> LakeFlightSql {
        let store = lake::Store::open_folder(dir.path()).unwrap();
        let users = StaticUsers::new(
            [("ana".to_string(), "s3cret".to_string())],
            Duration::from_secs(60),
        );
        LakeFlightSql::new(
            store,
            Auth {
                token: Some("t0k".into()),
                users: Some(Arc::new(users)),
            },
            limits,
        )
        .unwrap()
    }

    fn with(h: &str) -> Request<()> {
        let mut r = Request::new(());
        r.metadata_mut().insert("authorization", h.parse().unwrap());
        r
    }

    #[tokio::test]
    async fn only_the_shared_token_or_a_session_token_is_admitted() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir, Limits::default());
        let caller = service.caller(&with("Bearer t0k")).await.unwrap();
        assert_eq!(caller.who.role, "analyst");
        assert!(service.caller(&with("Bearer nope")).await.is_err());
        assert!(service.caller(&with("Basic dDBr")).await.is_err());
        assert!(service.caller(&Request::new(())).await.is_err());
    }

    /// The attack: anonymous handshakes hold every password-checking slot (as a flood of
    /// argon2 checks would); a logged-in user's query still runs at once, and the flood's
    /// next login is refused rather than queued without bound.
    #[tokio::test]
    async fn a_login_flood_cannot_starve_a_logged_in_user() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_logins: 2,
            login_wait: Duration::from_millis(100),
            ..Limits::default()
        };
        let service = service(&dir, limits);
        let (token, _) = service
            .login("ana".into(), "s3cret".into(), "ip".into())
            .await
            .unwrap();
        let _busy = service.logins.clone().acquire_many_owned(2).await.unwrap();
        let refused = service
            .login("ana".into(), "s3cret".into(), "ip".into())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        let caller = service
            .caller(&with(&format!("Bearer {token}")))
            .await
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(20), async {
            let response = service.stream(&caller, "SELECT 1 AS one").await.unwrap();
            response.into_inner().try_collect::<Vec<_>>().await.unwrap()
        })
        .await
        .expect("the logged-in user's query waited on the logins");
        assert!(!answer.is_empty());
    }

    /// The attack: a query that never ends, and one that holds more memory than the server
    /// allows; both fail, the server stays up.
    #[tokio::test]
    async fn queries_are_held_to_the_timeout_and_the_memory_pool() {
        let dir = tempfile::tempdir().unwrap();
        async fn run(service: &LakeFlightSql, sql: &'static str) -> String {
            let caller = service.caller(&with("Bearer t0k")).await.unwrap();
            match service.stream(&caller, sql).await {
                Err(status) => status.to_string(),
                Ok(r) => match r.into_inner().try_collect::<Vec<_>>().await {
                    Err(status) => status.to_string(),
                    Ok(_) => "completed".to_string(),
                },
            }
        }
        let short = service(
            &dir,
            Limits {
                query_timeout: Duration::from_millis(500),
                ..Limits::default()
            },
        );
        let endless = run(
            &short,
            "SELECT sum(value) FROM generate_series(1, 100000000000)",
        )
        .await;
        assert!(endless.contains("ran out of time"), "{endless}");
        let small = service(
            &dir,
            Limits {
                memory_bytes: 16 << 20,
                ..Limits::default()
            },
        );
        let hog = run(
            &small,
            "SELECT array_agg(value) FROM generate_series(1, 50000000)",
        )
        .await;
        assert!(hog.to_lowercase().contains("resources exhausted"), "{hog}");
        assert_eq!(run(&small, "SELECT 1").await, "completed");
    }

    #[tokio::test]
    async fn a_remote_session_runs_queries_but_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = lake::Store::open_folder(dir.path()).unwrap();
        let session = Session::open(&store, Access::QueryOnly).await.unwrap();
        assert_eq!(session.run("SELECT 1 AS one").await.unwrap().num_rows(), 1);
        for sql in [
            "CREATE VIEW v AS SELECT 1",
            "DELETE FROM packets",
            "SET datafusion.execution.batch_size = 10",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
        ] {
            assert!(session.run(sql).await.is_err(), "{sql} was allowed");
        }
    }
}
