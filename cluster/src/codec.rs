//! [`SearchCodec`]: how [`SearchExec`] crosses the wire between driver, scheduler and
//! executors. Our node is a magic prefix and the [`SearchSpec`] as JSON; every other node
//! goes to Ballista's own codec, which the scheduler's shuffle and stage nodes need.

use std::sync::Arc;

use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ScalarUDF;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

use crate::exec::SearchExec;
use crate::spec::SearchSpec;

const MAGIC: &[u8] = b"tunggal.search.v1:";

/// The physical extension codec of every tunggal process that takes part in a cluster.
#[derive(Debug, Default)]
pub struct SearchCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl SearchCodec {
    /// The codec, shared.
    pub fn shared() -> Arc<dyn PhysicalExtensionCodec> {
        Arc::new(SearchCodec::default())
    }
}

impl PhysicalExtensionCodec for SearchCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match buf.strip_prefix(MAGIC) {
            Some(json) => {
                let spec: SearchSpec = serde_json::from_slice(json).map_err(|e| {
                    DataFusionError::Internal(format!("TunggalSearchExec does not decode: {e}"))
                })?;
                let [input] = inputs else {
                    return Err(DataFusionError::Internal(
                        "TunggalSearchExec has one input".into(),
                    ));
                };
                Ok(Arc::new(SearchExec::new(Arc::new(spec), Arc::clone(input))))
            }
            None => self.ballista.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        match node.downcast_ref::<SearchExec>() {
            Some(exec) => {
                buf.extend_from_slice(MAGIC);
                serde_json::to_writer(&mut *buf, exec.spec())
                    .map_err(|e| DataFusionError::Internal(e.to_string()))?;
                Ok(())
            }
            None => self.ballista.try_encode(node, buf, proto_converter),
        }
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }
}
