//! What a synth run wrote, printed at the end and stored as `synth-truth/batches/<batch>.json`.

use crate::world::World;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Counts and speed of one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSummary {
    /// Batch id.
    pub batch: String,
    /// Residents written to the SIAK extract.
    pub residents: usize,
    /// Households (family cards).
    pub households: usize,
    /// Stations in the registry.
    pub stations: usize,
    /// Of which retired.
    pub retired_stations: usize,
    /// Landed objects.
    pub packets: usize,
    /// Of which planted bad.
    pub bad_packets: usize,
    /// Landed objects per truth case.
    pub cases: BTreeMap<String, usize>,
    /// Bytes of packets written.
    pub bytes_written: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl SynthSummary {
    /// Summarizes a planned world after its packets were written.
    pub fn of(world: &World, bytes_written: u64, elapsed: Duration) -> SynthSummary {
        let mut cases = BTreeMap::new();
        for p in &world.packets {
            *cases.entry(p.case.to_string()).or_insert(0) += 1;
        }
        SynthSummary {
            batch: world.batch.clone(),
            residents: world.population.residents.len(),
            households: world.population.households.len(),
            stations: world.stations.len(),
            retired_stations: world
                .stations
                .iter()
                .filter(|s| s.station.active_to.is_some())
                .count(),
            packets: world.packets.len(),
            bad_packets: world.packets.iter().filter(|p| p.case.is_bad()).count(),
            cases,
            bytes_written,
            elapsed,
        }
    }

    /// Packets written per second of wall time.
    pub fn packets_per_second(&self) -> f64 {
        self.packets as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The summary as JSON (no personal data).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "batch": self.batch,
            "residents": self.residents,
            "households": self.households,
            "stations": self.stations,
            "retired_stations": self.retired_stations,
            "packets": self.packets,
            "bad_packets": self.bad_packets,
            "cases": self.cases,
            "bytes_written": self.bytes_written,
            "elapsed_s": self.elapsed.as_secs_f64(),
        })
    }
}

impl fmt::Display for SynthSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "batch {}", self.batch)?;
        writeln!(
            f,
            "  SIAK: {} residents in {} households; stations: {} ({} retired)",
            self.residents, self.households, self.stations, self.retired_stations
        )?;
        writeln!(
            f,
            "  packets: {} ({} bad), {:.1} MiB, {:.1} s, {:.0} packets/s",
            self.packets,
            self.bad_packets,
            self.bytes_written as f64 / (1024.0 * 1024.0),
            self.elapsed.as_secs_f64(),
            self.packets_per_second()
        )?;
        for (case, n) in &self.cases {
            writeln!(f, "    {case:<36} {n}")?;
        }
        Ok(())
    }
}
