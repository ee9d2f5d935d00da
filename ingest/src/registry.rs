//! The registries a packet is checked against: stations (who may sign) and SIAK residents
//! (who exists), read from the lake's reference tables (`station_history`,
//! `resident_history`; see `lake::reference`).
//!
//! The run first takes any reference file not loaded yet into those tables
//! (`lake::reference::load`, the same load as `tunggal reference load`), so a store where only
//! the CSV files exist is checked against them as before. Stations are few and read whole at
//! the start ([`RegistryTables`]); residents are asked for by the NIKs of each chunk
//! ([`RegistryTables::for_niks`]), so a run never holds the 270 million rows of SIAK.
//!
//! A station given twice among the files of one load is a registry error (which key and which
//! site to trust is ambiguous); a station given again by a file loaded later is its new
//! version (a retirement, a new key), kept as history.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use reference::{Resident, Station};

use crate::error::IngestError;

/// Stations by `station_id` and residents by NIK: the registry a chunk is checked against.
#[derive(Debug, Default)]
pub struct Registry {
    stations: Arc<HashMap<String, Station>>,
    residents: HashMap<String, Resident>,
}

/// The reference tables as of the start of the run: the current stations, and a session over
/// `resident_history` to ask residents by NIK.
pub struct RegistryTables {
    ctx: SessionContext,
    stations: Arc<HashMap<String, Station>>,
}

impl RegistryTables {
    /// Reads the current station registry through `ctx` (a session with the lake tables
    /// registered, e.g. `lake::lake_context`), keeping `ctx` for the residents.
    pub async fn open(ctx: &SessionContext) -> Result<RegistryTables, IngestError> {
        let stations = lake::reference::current_stations(ctx).await?;
        Ok(RegistryTables {
            ctx: ctx.clone(),
            stations: Arc::new(stations),
        })
    }

    /// Number of current stations, for the run log.
    pub fn stations(&self) -> usize {
        self.stations.len()
    }

    /// The registry of one chunk: every current station and the current SIAK rows of `niks`.
    pub async fn for_niks(&self, mut niks: Vec<String>) -> Result<Registry, IngestError> {
        niks.sort_unstable();
        niks.dedup();
        let residents = lake::reference::current_residents(&self.ctx, &niks).await?;
        Ok(Registry {
            stations: self.stations.clone(),
            residents,
        })
    }
}

/// Two registry rows name the same station.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "station registry: station {station_id} is registered more than once (in {first} and in \
     {second}); fix the registry and run again"
)]
pub struct DuplicateStation {
    /// The repeated id (escaped for printing).
    pub station_id: String,
    /// The file of the first row.
    pub first: String,
    /// The file of the second row.
    pub second: String,
}

impl Registry {
    /// Indexes stations (grouped by the file they came from, for the error) and residents
    /// (a later resident row wins on a repeated NIK).
    pub fn new(
        station_files: Vec<(String, Vec<Station>)>,
        residents: Vec<Resident>,
    ) -> Result<Registry, DuplicateStation> {
        let mut stations: HashMap<String, Station> = HashMap::new();
        let mut source: HashMap<String, String> = HashMap::new();
        for (file, rows) in station_files {
            for station in rows {
                if let Some(first) = source.get(&station.station_id) {
                    return Err(DuplicateStation {
                        station_id: crate::validate::printable(&station.station_id),
                        first: first.clone(),
                        second: file,
                    });
                }
                source.insert(station.station_id.clone(), file.clone());
                stations.insert(station.station_id.clone(), station);
            }
        }
        Ok(Registry {
            stations: Arc::new(stations),
            residents: residents
                .into_iter()
                .map(|r| (r.nik.as_str().to_string(), r))
                .collect(),
        })
    }

    /// The registered station with this id.
    pub fn station(&self, station_id: &str) -> Option<&Station> {
        self.stations.get(station_id)
    }

    /// The SIAK resident with this NIK.
    pub fn resident(&self, nik: &str) -> Option<&Resident> {
        self.residents.get(nik)
    }

    /// Number of stations and residents held, for tests and logs.
    pub fn sizes(&self) -> (usize, usize) {
        (self.stations.len(), self.residents.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn station(id: &str, key: &str) -> Station {
        Station {
            station_id: id.into(),
            site: "33.74.01".into(),
            public_key: key.repeat(32),
            active_from: chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00+07:00").unwrap(),
            active_to: None,
        }
    }

    /// A second registry file re-registering a station with another key used to win
    /// silently (the last file read); now it is a registry error naming both files.
    #[test]
    fn a_station_in_two_registry_files_is_a_registry_error() {
        let files = vec![
            (
                "reference/stations/a.csv".to_string(),
                vec![station("st-1", "ab")],
            ),
            (
                "reference/stations/b.csv".to_string(),
                vec![station("st-2", "ab"), station("st-1", "cd")],
            ),
        ];
        let err = Registry::new(files, vec![]).unwrap_err();
        assert_eq!(err.first, "reference/stations/a.csv");
        assert_eq!(err.second, "reference/stations/b.csv");
        assert!(err.to_string().contains("st-1"), "{err}");
        let once = vec![("a.csv".to_string(), vec![station("st-1", "ab")])];
        assert_eq!(Registry::new(once, vec![]).unwrap().sizes(), (1, 0));
    }
}
