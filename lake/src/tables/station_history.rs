//! `station_history`: every version of every station registry row ever loaded, appended by
//! `tunggal reference load` (or the load at the start of ingest).
//!
//! A station is retired by a later registry file that gives its row again with `active_to`
//! set; the row before stays here, so the registry of any past day can be read back. A row is
//! appended only when a station is new or its row changed. The current registry is the view
//! `stations` ([`super::VIEWS`]): the latest row of each station.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use reference::Station;

use super::columns::{extended, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "station_history";

/// Arrow schema of `station_history`: the columns of the registry
/// ([`crate::reference::stations_schema`]), then
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `extract` | string | object path of the registry file the row came from |
/// | `loaded` | timestamp | when the load that appended the row ran: the latest row of a station is current |
pub fn schema() -> SchemaRef {
    extended(
        &crate::reference::stations_schema(),
        [text("extract", false), timestamp("loaded", false)],
    )
}

/// One row of `station_history`: a version of one station.
#[derive(Clone, Debug, PartialEq)]
pub struct StationHistoryRecord {
    /// The station as the registry file gives it (times kept as UTC instants).
    pub station: Station,
    /// Object path of that registry file.
    pub extract: String,
    /// When the load ran.
    pub loaded: DateTime<Utc>,
}

/// Builds a record batch of `station_history` rows.
pub fn to_batch(rows: &[StationHistoryRecord]) -> Result<RecordBatch> {
    let stations: Vec<Station> = rows.iter().map(|r| r.station.clone()).collect();
    let mut columns = crate::reference::stations_batch(&stations)?
        .columns()
        .to_vec();
    columns.push(strings(rows.iter().map(|r| r.extract.as_str())));
    columns.push(timestamps(rows.iter().map(|r| r.loaded)));
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Reads `station_history` rows back from a batch holding every column of the table.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<StationHistoryRecord>> {
    let c = Columns::new(batch);
    let (id, site, key) = (
        c.text("station_id")?,
        c.text("site")?,
        c.text("public_key")?,
    );
    let (from, to) = (c.times("active_from")?, c.times("active_to")?);
    let (extract, loaded) = (c.text("extract")?, c.times("loaded")?);
    Ok((0..batch.num_rows())
        .map(|r| StationHistoryRecord {
            station: Station {
                station_id: id.string(r),
                site: site.string(r),
                public_key: key.string(r),
                active_from: from.get(r).fixed_offset(),
                active_to: to.opt(r).map(|t| t.fixed_offset()),
            },
            extract: extract.string(r),
            loaded: loaded.get(r),
        })
        .collect())
}

/// `stations`: the latest row of each station, with the registry's columns, `extract` and
/// `loaded`.
pub const STATIONS_VIEW: &str = "SELECT station_id, site, public_key, active_from, active_to, \
     extract, loaded \
     FROM (SELECT *, row_number() OVER (PARTITION BY station_id ORDER BY loaded DESC) AS latest \
     FROM station_history) AS h WHERE latest = 1";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rows_survive_a_batch_with_times_as_instants() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let station = |to: Option<&str>| Station {
            station_id: "337401-a1b2c3-01".into(),
            site: "33.74.01".into(),
            public_key: "ab".repeat(32),
            active_from: at("2025-01-01T08:00:00+07:00"),
            active_to: to.map(at),
        };
        let loaded = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let rows = vec![
            StationHistoryRecord {
                station: station(None),
                extract: "reference/stations/a.csv".into(),
                loaded,
            },
            StationHistoryRecord {
                station: station(Some("2026-06-30T17:00:00+07:00")),
                extract: "reference/stations/b.csv".into(),
                loaded,
            },
        ];
        let back = from_batch(&to_batch(&rows).unwrap()).unwrap();
        // Offsets become UTC; the instants (what equality and the checks compare) stay.
        assert_eq!(back, rows);
        assert_eq!(back[0].station.active_from.offset().local_minus_utc(), 0);
    }
}
