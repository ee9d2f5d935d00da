//! The console's periodic sync with the lake (new clusters become cases, final decisions and
//! the audit trail are exported), as a task the server owns and stops.
//!
//! The one idea to hold in mind: stopping waits for a sync in progress to finish (the stop
//! signal is only looked at between syncs), so shutting the console down never cuts an
//! export in half; the exports are exactly-once anyway, so this only saves a retry.

use std::time::Duration;

use actix_web::web;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::AppState;
use crate::lakeview;

/// The running periodic sync: its task and the signal that stops it.
pub struct SyncTask {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl SyncTask {
    /// Starts syncing every `every` (the first sync after one period: the console syncs once
    /// before it starts serving).
    pub fn start(state: web::Data<AppState>, every: Duration) -> SyncTask {
        let (stop, mut stopped) = watch::channel(false);
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => sync_once(&state).await,
                    _ = stopped.changed() => break,
                }
            }
        });
        SyncTask { stop, handle }
    }

    /// Stops the task, waiting for a sync in progress to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "the periodic sync task failed");
        }
    }
}

/// One periodic sync: re-read the lake, then create cases and export.
async fn sync_once(state: &AppState) {
    state.lake.refresh().await;
    match lakeview::sync_with(state.lake.store(), &state.cases).await {
        Ok(s) => tracing::info!(
            created = s.cases.created,
            exported = s.decisions_exported,
            audit_exported = s.audit_exported,
            "periodic sync"
        ),
        Err(e) => tracing::warn!(error = %e, "periodic sync failed"),
    }
}
