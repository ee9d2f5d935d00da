//! `tunggal serve-sql`: the lake over Arrow Flight SQL, for BI tools (DBeaver, Superset, any
//! ADBC or JDBC Flight SQL client), authenticated and read-only.
//!
//! The one idea to hold in mind: every call is authenticated, and every statement is planned
//! by a [`Session`] with [`Access::QueryOnly`], which refuses anything but queries; the
//! update, ingest and transaction calls of Flight SQL are left unimplemented, so they are
//! refused too. Each query opens the tables afresh, so a client sees the lake's latest
//! commit, never half of one.
//!
//! Authentication, two ways:
//! - a shared bearer token (`--token` / `TUNGGAL_SQL_TOKEN`): the client sends the header
//!   `authorization: Bearer <token>` on every call;
//! - user name and password through an [`Authenticator`]: the client's Flight handshake
//!   sends `authorization: Basic …`, the server answers with a session token
//!   (`authorization: Bearer …`) that the client sends from then on. The console's user store
//!   (adjudication crate) is meant to implement [`Authenticator`], so analysts log in with
//!   their console accounts; until the CLI wires it, [`StaticUsers`] holds users given on the
//!   command line.
//!
//! The statement handle in a ticket is the SQL text itself: tickets are only valid with a
//! valid token, and planning again at `DoGet` keeps the server stateless.

// tonic::Status is large; returning it by value is what the FlightSqlService trait asks for.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use arrow::datatypes::Schema;
use arrow_flight::encode::FlightDataEncoderBuilder;
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
use futures::{Stream, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use crate::{Access, Session, SqlError};

/// Checks user names and passwords for Flight SQL logins.
///
/// The adjudication console keeps its users (with argon2 password hashes) in its case store;
/// implementing this trait there lets analysts log in to `serve-sql` with their console
/// accounts. Implementations must not log the password.
pub trait Authenticator: Send + Sync + 'static {
    /// Whether `user` may log in with `password`.
    fn verify(&self, user: &str, password: &str) -> bool;
}

/// Users and passwords held in memory (e.g. from the command line).
#[derive(Clone, Debug, Default)]
pub struct StaticUsers {
    users: HashMap<String, String>,
}

impl StaticUsers {
    /// Users from `user:password` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> StaticUsers {
        StaticUsers {
            users: pairs.into_iter().collect(),
        }
    }
}

impl Authenticator for StaticUsers {
    fn verify(&self, user: &str, password: &str) -> bool {
        self.users
            .get(user)
            .is_some_and(|p| constant_time_eq(p.as_bytes(), password.as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who may connect: a shared token, a user store, or both. With neither, nobody can.
#[derive(Clone, Default)]
pub struct Auth {
    /// The shared bearer token, if any.
    pub token: Option<String>,
    /// The user store for user/password logins, if any.
    pub users: Option<Arc<dyn Authenticator>>,
}

/// The Flight SQL service over one store.
#[derive(Clone)]
pub struct LakeFlightSql {
    store: lake::Store,
    auth: Auth,
    /// Session tokens handed out by the handshake (in memory: a restart logs everyone out).
    sessions: Arc<Mutex<HashSet<String>>>,
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

impl LakeFlightSql {
    /// A service over `store` admitting whom `auth` admits.
    pub fn new(store: lake::Store, auth: Auth) -> Result<LakeFlightSql, SqlError> {
        let mut info = SqlInfoDataBuilder::new();
        info.append(SqlInfo::FlightSqlServerName, "tunggal");
        info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        info.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
        info.append(SqlInfo::FlightSqlServerReadOnly, true);
        Ok(LakeFlightSql {
            store,
            auth,
            sessions: Arc::new(Mutex::new(HashSet::new())),
            info: Arc::new(
                info.build()
                    .map_err(|e| SqlError::Io(std::io::Error::other(e.to_string())))?,
            ),
        })
    }

    /// Admits a call carrying a valid bearer token (the shared one or a session's).
    fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("authorization required"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| Status::unauthenticated("expected a bearer token"))?;
        if self.token_valid(token) {
            Ok(())
        } else {
            Err(Status::unauthenticated("invalid token"))
        }
    }

    fn token_valid(&self, token: &str) -> bool {
        let shared = self
            .auth
            .token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
        shared || self.sessions.lock().is_ok_and(|s| s.contains(token))
    }

    async fn session(&self) -> Result<Session, Status> {
        Session::open(&self.store, Access::QueryOnly)
            .await
            .map_err(sql_status)
    }

    async fn schema_of(&self, sql: &str) -> Result<Schema, Status> {
        let frame = self.session().await?.plan(sql).await.map_err(sql_status)?;
        Ok(frame.schema().as_arrow().clone())
    }

    async fn stream(
        &self,
        sql: &str,
    ) -> Result<Response<BoxStream<arrow_flight::FlightData>>, Status> {
        let frame = self.session().await?.plan(sql).await.map_err(sql_status)?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame
            .execute_stream()
            .await
            .map_err(|e| Status::invalid_argument(e.to_string()))?
            .map_err(|e| arrow_flight::error::FlightError::ExternalError(Box::new(e)));
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
        batch: Result<arrow::array::RecordBatch, arrow_flight::error::FlightError>,
    ) -> Response<BoxStream<arrow_flight::FlightData>> {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async move { batch }))
            .map_err(Status::from);
        Response::new(Box::pin(stream))
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
            let users = self
                .auth
                .users
                .as_ref()
                .ok_or_else(|| Status::unauthenticated("user logins are not enabled"))?;
            if !users.verify(user, password) {
                tracing::info!(user, "flight sql: login refused");
                return Err(Status::unauthenticated("invalid user or password"));
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            self.sessions
                .lock()
                .map_err(internal)?
                .insert(token.clone());
            tracing::info!(user, "flight sql: login");
            token
        } else if let Some(bearer) = header.strip_prefix("Bearer ") {
            if !self.token_valid(bearer) {
                return Err(Status::unauthenticated("invalid token"));
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
        self.check(&request)?;
        let schema = self.schema_of(&query.query).await?;
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
        self.check(&request)?;
        let sql = handle_sql(&ticket.statement_handle)?;
        tracing::debug!("flight sql: query");
        self.stream(&sql).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        self.check(&request)?;
        let schema = self.schema_of(&query.query).await?;
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
        self.check(&request)?;
        Ok(())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request)?;
        let sql = handle_sql(&cmd.prepared_statement_handle)?;
        let schema = self.schema_of(&sql).await?;
        self.info_for(&schema, cmd.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.check(&request)?;
        let sql = handle_sql(&cmd.prepared_statement_handle)?;
        self.stream(&sql).await
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request)?;
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
        self.check(&request)?;
        let builder = query.into_builder(&self.info);
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build()))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request)?;
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
        self.check(&request)?;
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
        self.check(&request)?;
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
        self.check(&request)?;
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
        self.check(&request)?;
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
        self.check(&request)?;
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
        self.check(&request)?;
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
        self.check(&request)?;
        let session = self.session().await?;
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

/// Binds `addr` (port 0: any free port) and serves `store` over Flight SQL in the background.
pub async fn serve(store: lake::Store, auth: Auth, addr: SocketAddr) -> Result<Server, SqlError> {
    let service = LakeFlightSql::new(store, auth)?;
    let incoming = tonic::transport::server::TcpIncoming::bind(addr)?.with_nodelay(Some(true));
    let addr = incoming.local_addr()?;
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(FlightServiceServer::new(service))
            .serve_with_incoming(incoming),
    );
    Ok(Server { addr, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_users_check_both_name_and_password() {
        let users = StaticUsers::new([("ana".to_string(), "s3cret".to_string())]);
        assert!(users.verify("ana", "s3cret"));
        assert!(!users.verify("ana", "s3cre"));
        assert!(!users.verify("bob", "s3cret"));
    }

    #[tokio::test]
    async fn only_the_shared_token_or_a_session_token_is_admitted() {
        let dir = tempfile::tempdir().unwrap();
        let store = lake::Store::open_folder(dir.path()).unwrap();
        let service = LakeFlightSql::new(
            store,
            Auth {
                token: Some("t0k".into()),
                users: None,
            },
        )
        .unwrap();
        let with = |h: &str| {
            let mut r = Request::new(());
            r.metadata_mut().insert("authorization", h.parse().unwrap());
            r
        };
        assert!(service.check(&with("Bearer t0k")).is_ok());
        assert!(service.check(&with("Bearer nope")).is_err());
        assert!(service.check(&with("Basic dDBr")).is_err());
        assert!(service.check(&Request::new(())).is_err());
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
