//! The registries a packet is checked against: stations (who may sign) and SIAK residents
//! (who exists), loaded once per run from `reference/` in the store and indexed for lookup.

use std::collections::HashMap;

use reference::{Resident, Station};

/// Stations by `station_id` and residents by NIK, as of the start of the run.
#[derive(Debug, Default)]
pub struct Registry {
    stations: HashMap<String, Station>,
    residents: HashMap<String, Resident>,
}

impl Registry {
    /// Loads the station registry and the SIAK extract from the store.
    pub async fn load(store: &lake::Store) -> lake::Result<Registry> {
        let stations = lake::reference::load_stations(store).await?;
        let residents = lake::reference::load_residents(store).await?;
        Ok(Registry::new(stations, residents))
    }

    /// Indexes the given stations and residents (later rows win on a repeated key).
    pub fn new(stations: Vec<Station>, residents: Vec<Resident>) -> Registry {
        Registry {
            stations: stations
                .into_iter()
                .map(|s| (s.station_id.clone(), s))
                .collect(),
            residents: residents
                .into_iter()
                .map(|r| (r.nik.as_str().to_string(), r))
                .collect(),
        }
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
