//! Reading synth's ground truth from a store: every `synth-truth/enrollees/*.csv`, parsed by
//! [`synth::truth::from_csv`], so every evaluation reads the truth one way.

use lake::Store;
use synth::truth::{TruthRow, ENROLLEES_PREFIX};

use crate::error::{EvalError, Result};

/// Every enrollee truth row of every batch the store holds (batches in listing order).
pub async fn enrollees(store: &Store) -> Result<Vec<TruthRow>> {
    let mut rows = Vec::new();
    for meta in store.list(ENROLLEES_PREFIX).await? {
        let bytes = store.get(meta.location.as_ref()).await?;
        rows.extend(
            synth::truth::from_csv(&bytes).map_err(|e| EvalError::Truth {
                path: meta.location.to_string(),
                reason: e.to_string(),
            })?,
        );
    }
    Ok(rows)
}
