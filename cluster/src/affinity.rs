//! [`UnitAffinity`]: the scheduler's task placement for tunggal's jobs. A gallery unit is
//! read and merged by the executor that first searches it and stays there (the executor
//! keeps its last units, `worker.rs`); the rank and the compare job of a batch, and every
//! batch of the night, ask for the same units. Ballista's own placement (first free slot)
//! sends a unit's next task to whichever executor is free, which then reads the unit again
//! — at 615 MiB a unit, most of a compare task. This policy sends a unit's task back to the
//! executor that searched it last when that one has a free slot: a free executor takes
//! first a unit it holds, then a unit nobody holds, and only then one held elsewhere (its
//! holder busy, or gone). It never waits for an executor — placement only, never
//! correctness: any executor can run any task, and a dead holder is simply not free.
//!
//! Stages that are not a search (the collect stage after it) are placed as Ballista's
//! default places them: the first executor with a free slot takes as many partitions as it
//! has slots, up to the job's `max_partitions_per_task`, and a stage that collapses its
//! input to one partition in one task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ballista_core::config::BallistaConfig;
use ballista_core::execution_plans::ShuffleReaderExec;
use ballista_core::serde::protobuf::job_status;
use ballista_core::serde::protobuf::AvailableVcores;
use ballista_core::serde::scheduler::TaskKey;
use ballista_core::JobId;
use ballista_scheduler::cluster::{BoundTask, DistributionPolicy};
use ballista_scheduler::state::execution_graph::{create_task_info, TaskDescription};
use ballista_scheduler::state::execution_stage::RunningStage;
use ballista_scheduler::state::task_manager::JobInfoCache;
use datafusion::physical_plan::ExecutionPlan;

use crate::exec::SearchExec;

/// Units whose placement is remembered at most (a gallery of 200 million in 1 GiB units is
/// ~2,400).
const MAX_REMEMBERED: usize = 65_536;

/// Where each unit was searched last.
#[derive(Debug, Default)]
pub struct UnitAffinity {
    /// Unit key → executor that searched it last.
    holder: Mutex<HashMap<String, String>>,
}

/// The unit keys of a search stage's partitions (store and paths), or `None` for a stage
/// that is not a search.
fn unit_keys(plan: &Arc<dyn ExecutionPlan>) -> Option<Vec<String>> {
    if let Some(search) = plan.downcast_ref::<SearchExec>() {
        let spec = search.spec();
        return Some(
            spec.units
                .iter()
                .map(|paths| format!("{}|{}", spec.store, paths.join("|")))
                .collect(),
        );
    }
    if plan.downcast_ref::<ShuffleReaderExec>().is_some() {
        return None; // the stage ends here
    }
    plan.children().into_iter().find_map(unit_keys)
}

/// Whether the stage reduces its input to one partition in one task (Ballista packs all
/// its pending partitions into that task).
fn collapses(root: &Arc<dyn ExecutionPlan>) -> bool {
    fn below(node: &Arc<dyn ExecutionPlan>) -> bool {
        if node.downcast_ref::<ShuffleReaderExec>().is_some() {
            return false;
        }
        if node.properties().output_partitioning().partition_count() == 1 {
            return true;
        }
        match node.children().as_slice() {
            [child] => below(child),
            _ => false,
        }
    }
    match root.children().as_slice() {
        [child] => below(child),
        _ => false,
    }
}

/// Binds `partitions` of `stage` as one task on `budget`'s executor.
fn bind(
    stage: &mut RunningStage,
    session_id: &str,
    job_id: &JobId,
    budget: &mut AvailableVcores,
    partitions: Vec<usize>,
    vcores: u32,
) -> BoundTask {
    let task_id = stage.task_infos.len();
    let task_attempt = partitions
        .iter()
        .map(|p| stage.task_failure_numbers[*p])
        .max()
        .unwrap_or(0);
    let mut info = create_task_info(budget.executor_id.clone(), task_id);
    info.global_input_partition_ids = partitions.clone();
    info.vcores_consumed = vcores;
    stage.task_infos.push(info);
    budget.vcores -= vcores;
    let task = TaskDescription {
        session_id: session_id.to_string(),
        key: TaskKey {
            job_id: job_id.clone(),
            stage_id: stage.stage_id,
            task_id,
        },
        stage_attempt_num: stage.stage_attempt_num,
        task_attempt,
        global_input_partition_ids: partitions,
        vcores_consumed: vcores,
        plan: stage.plan.clone(),
        session_config: stage.session_config.clone(),
    };
    (budget.executor_id.clone(), task)
}

impl UnitAffinity {
    /// Places a search stage's pending partitions, one per task.
    fn place_search(
        &self,
        stage: &mut RunningStage,
        keys: &[String],
        session_id: &str,
        job_id: &JobId,
        budgets: &mut [&mut AvailableVcores],
        out: &mut Vec<BoundTask>,
    ) {
        let mut holder = self.holder.lock().expect("unit placement");
        if holder.len() > MAX_REMEMBERED {
            holder.clear(); // units of nights long past; the current ones are placed anew
        }
        let mut pending = stage.pending.next_slice(usize::MAX);
        let key = |p: usize| keys.get(p).cloned().unwrap_or_default();
        while !pending.is_empty() {
            let Some(i) = most_free(budgets) else { break };
            let id = budgets[i].executor_id.clone();
            let held: Vec<Option<&String>> = pending.iter().map(|&p| holder.get(&key(p))).collect();
            let partition = pending.remove(pick(&held, &id));
            holder.insert(key(partition), id);
            out.push(bind(
                stage,
                session_id,
                job_id,
                &mut *budgets[i],
                vec![partition],
                1,
            ));
        }
        stage.pending.reschedule(pending);
    }
}

/// Which pending task executor `id` takes, given who holds each task's unit: one whose unit
/// it holds, else one whose unit nobody holds, else the first (its holder is busy or gone).
fn pick(held: &[Option<&String>], id: &str) -> usize {
    held.iter()
        .position(|h| h.is_some_and(|h| h == id))
        .or_else(|| held.iter().position(Option::is_none))
        .unwrap_or(0)
}

/// The executor with the most free slots, if any has one.
fn most_free(budgets: &[&mut AvailableVcores]) -> Option<usize> {
    budgets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.vcores > 0)
        .max_by_key(|(i, b)| (b.vcores, std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

/// Places any other stage as Ballista's default does.
fn place_default(
    stage: &mut RunningStage,
    session_id: &str,
    job_id: &JobId,
    budgets: &mut [&mut AvailableVcores],
    out: &mut Vec<BoundTask>,
) {
    let collapse = collapses(&stage.plan);
    let cap = stage
        .session_config
        .options()
        .extensions
        .get::<BallistaConfig>()
        .map(|c| c.max_partitions_per_task())
        .filter(|&n| n > 0)
        .unwrap_or(usize::MAX);
    while let Some(i) = most_free(budgets) {
        let budget = &mut *budgets[i];
        let max = if collapse {
            usize::MAX
        } else {
            (budget.vcores as usize).min(cap)
        };
        let partitions = stage.pending.next_slice(max);
        if partitions.is_empty() {
            return;
        }
        let vcores = if collapse { 1 } else { partitions.len() as u32 };
        out.push(bind(stage, session_id, job_id, budget, partitions, vcores));
    }
}

#[async_trait::async_trait]
impl DistributionPolicy for UnitAffinity {
    async fn bind_tasks(
        &self,
        mut budgets: Vec<&mut AvailableVcores>,
        running_jobs: Arc<HashMap<JobId, JobInfoCache>>,
    ) -> datafusion::error::Result<Vec<BoundTask>> {
        let mut out = Vec::new();
        if budgets.iter().all(|b| b.vcores == 0) {
            return Ok(out);
        }
        // The same order every round, so that placement does not depend on a map's order.
        budgets.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        let mut jobs: Vec<_> = running_jobs.iter().collect();
        jobs.sort_by_key(|a| a.0.to_string());
        for (job_id, job) in jobs {
            if !matches!(job.status, Some(job_status::Status::Running(_))) {
                continue;
            }
            let mut graph = job.execution_graph.write().await;
            let session_id = graph.session_id().to_string();
            let mut seen = Vec::new();
            while let Some(stage) = graph.fetch_running_stage(&seen) {
                seen.push(stage.stage_id);
                match unit_keys(&stage.plan) {
                    Some(keys) => {
                        self.place_search(
                            stage,
                            &keys,
                            &session_id,
                            job_id,
                            &mut budgets,
                            &mut out,
                        );
                    }
                    None => place_default(stage, &session_id, job_id, &mut budgets, &mut out),
                }
            }
        }
        Ok(out)
    }

    fn name(&self) -> &str {
        "tunggal-unit-affinity"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executor_takes_its_own_unit_first_then_a_free_one_then_any() {
        let (a, b) = ("a".to_string(), "b".to_string());
        assert_eq!(pick(&[Some(&b), None, Some(&a)], "a"), 2, "its own unit");
        assert_eq!(
            pick(&[Some(&b), None, Some(&b)], "a"),
            1,
            "a unit nobody holds"
        );
        assert_eq!(
            pick(&[Some(&b), Some(&b)], "a"),
            0,
            "its holder is busy or gone"
        );
    }

    #[test]
    fn free_slots_decide_where_an_unheld_unit_goes() {
        let mut one = AvailableVcores {
            executor_id: "one".into(),
            vcores: 1,
        };
        let mut three = AvailableVcores {
            executor_id: "three".into(),
            vcores: 3,
        };
        let mut none = AvailableVcores {
            executor_id: "none".into(),
            vcores: 0,
        };
        assert_eq!(most_free(&[&mut one, &mut three, &mut none]), Some(1));
        assert_eq!(most_free(&[&mut none]), None);
    }
}
