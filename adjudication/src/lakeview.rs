//! The console's window on the lake: reading clusters into cases ([`cases_from_lake`]),
//! reading a case's evidence (biodata, templates, match scores, NIK history, images:
//! [`evidence_records`], [`image`]), and writing final decisions to the `decisions` table and
//! the audit trail to the `audit` table, each exactly once ([`export_decisions`],
//! [`export_audit`], [`sync_with`]).
//!
//! Every read goes through the lake's typed readers: a query that selects a whole table is
//! read with that table's `from_batch`, one that selects some columns (a join) with
//! [`lake::tables::read::Columns`], so a misspelled or mistyped column is an error naming it,
//! never an empty string. Statuses, outcomes and effects are the enums of
//! [`mod@lake::vocabulary`], and SQL `IN` lists are rendered from them.
//!
//! Lake tables change only when the nightly job commits, so the console keeps one DataFusion
//! session for a short while ([`LakeView`]) instead of re-reading every table's log on each
//! page.

mod clusters;
mod evidence;
mod export;

use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;
use lake::Store;

use crate::error::Result;

pub use clusters::cases_from_lake;
pub use evidence::{evidence_records, image, EvidenceRecords, FingerBytes, NikHistoryRecord};
pub use export::{effect_of, export_audit, export_decisions, sync_with, verify_audit, SyncSummary};

/// A DataFusion session over the lake tables, reused for `ttl` and then opened anew (the
/// nightly job may have committed meanwhile).
pub struct LakeView {
    store: Store,
    ttl: Duration,
    ctx: tokio::sync::Mutex<Option<(Instant, SessionContext)>>,
}

impl LakeView {
    /// A view of `store`'s lake, refreshed every `ttl`.
    pub fn new(store: Store, ttl: Duration) -> LakeView {
        LakeView {
            store,
            ttl,
            ctx: tokio::sync::Mutex::new(None),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current session (opened when older than the time to live).
    pub async fn context(&self) -> Result<SessionContext> {
        let mut guard = self.ctx.lock().await;
        if let Some((at, ctx)) = guard.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(ctx.clone());
            }
        }
        let ctx = lake::lake_context(&self.store).await?;
        *guard = Some((Instant::now(), ctx.clone()));
        Ok(ctx)
    }

    /// Forgets the session, so the next read sees the newest commits.
    pub async fn refresh(&self) {
        *self.ctx.lock().await = None;
    }
}

/// `values` as a SQL list for `IN`: `(NULL)` when there are none (matches nothing, where `()`
/// would be a syntax error).
fn in_list<S: AsRef<str>>(values: &[S]) -> String {
    if values.is_empty() {
        "(NULL)".into()
    } else {
        lake::vocabulary::sql_list(values)
    }
}
