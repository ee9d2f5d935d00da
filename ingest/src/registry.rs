//! The registries a packet is checked against: stations (who may sign) and SIAK residents
//! (who exists), loaded once per run from `reference/` in the store and indexed for lookup.
//!
//! A station id must appear in exactly one registry row across all files of
//! `reference/stations/`: if two rows (in one file or in two) name the same station, which
//! key and which site to trust is ambiguous, so the run stops with a registry error instead
//! of letting the file that happens to be read last win.

use std::collections::HashMap;

use reference::{Resident, Station};

use crate::error::IngestError;

/// Stations by `station_id` and residents by NIK, as of the start of the run.
#[derive(Debug, Default)]
pub struct Registry {
    stations: HashMap<String, Station>,
    residents: HashMap<String, Resident>,
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
    /// Loads the station registry and the SIAK extract from the store; fails on a station
    /// registered more than once.
    pub async fn load(store: &lake::Store) -> Result<Registry, IngestError> {
        let mut files = Vec::new();
        for meta in store.list(reference::stations::STORE_PREFIX).await? {
            let path = meta.location.to_string();
            if !path.ends_with(".csv") {
                continue;
            }
            let bytes = store.get(&path).await?;
            let rows = reference::stations::read_csv(bytes.as_ref()).map_err(|e| {
                lake::LakeError::Reference {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?;
            files.push((path, rows));
        }
        let residents = lake::reference::load_residents(store).await?;
        Ok(Registry::new(files, residents)?)
    }

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
            stations,
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

    /// Number of stations and residents, for the run log.
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
