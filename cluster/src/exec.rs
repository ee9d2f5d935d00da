//! [`SearchExec`]: the custom Ballista operator. Its input is a memory source with one row
//! per gallery unit (the unit's number), one unit per partition; for each unit number it
//! reads it runs that unit's task of the rank or the compare job ([`crate::worker`]) and
//! returns the unit's rows. The unit travels as data, not as a partition index, because
//! Ballista's scheduler hands each task a slice of the stage's partitions by restricting the
//! plan's leaves — which it knows how to do for a memory source, and not for ours.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

use crate::rows;
use crate::spec::{Job, SearchSpec};
use crate::worker;

/// One job of a batch's search as a physical plan node over the unit numbers. Read-only: a
/// task may run any number of times with the same result.
#[derive(Debug)]
pub struct SearchExec {
    spec: Arc<SearchSpec>,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl SearchExec {
    /// The operator of `spec` over `input` (rows of unit numbers, see [`SearchExec::job`]).
    pub fn new(spec: Arc<SearchSpec>, input: Arc<dyn ExecutionPlan>) -> SearchExec {
        let schema = match spec.job {
            Job::Rank | Job::Gather => rows::rank_schema(),
            Job::Compare => rows::compare_schema(),
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(
                input.properties().output_partitioning().partition_count(),
            ),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        SearchExec {
            spec,
            input,
            properties: Arc::new(properties),
        }
    }

    /// The whole job: the operator of `spec` over one partition per unit.
    pub fn job(spec: SearchSpec) -> Result<SearchExec> {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "unit",
            DataType::UInt32,
            false,
        )]));
        let partitions = (0..spec.units.len() as u32)
            .map(|k| {
                RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![Arc::new(UInt32Array::from(vec![k]))],
                )
                .map(|b| vec![b])
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let units = MemorySourceConfig::try_new_exec(&partitions, schema, None)?;
        Ok(SearchExec::new(Arc::new(spec), units))
    }

    /// What the operator runs.
    pub fn spec(&self) -> &SearchSpec {
        &self.spec
    }
}

/// The unit numbers of a batch of the input.
fn units(batch: &RecordBatch, count: usize) -> Result<Vec<usize>> {
    let column = batch
        .column_by_name("unit")
        .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
        .ok_or_else(|| DataFusionError::Internal("TunggalSearchExec: no unit column".into()))?;
    column
        .values()
        .iter()
        .map(|&k| {
            let k = k as usize;
            if k < count {
                Ok(k)
            } else {
                Err(DataFusionError::Internal(format!(
                    "TunggalSearchExec: unit {k} of {count}"
                )))
            }
        })
        .collect()
}

impl DisplayAs for SearchExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "TunggalSearchExec: job={}, units={}",
            self.spec.job.name(),
            self.spec.units.len()
        )
    }
}

impl ExecutionPlan for SearchExec {
    fn name(&self) -> &str {
        "TunggalSearchExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match <[_; 1]>::try_from(children) {
            Ok([input]) => Ok(Arc::new(SearchExec::new(Arc::clone(&self.spec), input))),
            Err(_) => Err(DataFusionError::Internal(
                "TunggalSearchExec has one input".into(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let spec = Arc::clone(&self.spec);
        let schema: SchemaRef = self.schema();
        let rows = input
            .and_then(move |batch| {
                let spec = Arc::clone(&spec);
                async move {
                    let mut out = Vec::new();
                    for k in units(&batch, spec.units.len())? {
                        out.extend(
                            worker::run(&spec, k)
                                .await
                                .map_err(|e| DataFusionError::Execution(e.to_string()))?,
                        );
                    }
                    Ok(out)
                }
            })
            .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
            .try_flatten()
            .boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, rows)))
    }
}
