//! Reference data of tunggal: the facts every stage checks packets against.
//!
//! - [`regions`]: Indonesian region codes (province, regency/city, district, village), shipped
//!   inside the crate from the ministry's table (MIT, see `data/NOTICE.md`).
//! - [`nik`]: the personal number NIK and the family-card number, parsed and composed.
//! - [`civil`]: the closed vocabularies of the registry (sex, religion, marital status, …).
//! - [`siak`]: the SIAK resident extract (`reference/siak/<batch>.csv` in the object store).
//! - [`stations`]: the enrollment-station registry (`reference/stations/<batch>.csv`).
//!
//! The crate is pure (no I/O beyond `Read`/`Write` handed in), so ingest, synth and the console
//! read the same rows through the same types.

#![warn(missing_docs)]

pub mod civil;
mod csvio;
pub mod nik;
pub mod regions;
pub mod siak;
pub mod stations;

pub use civil::{BloodType, Citizenship, FamilyRelation, MaritalStatus, Religion, Sex};
pub use csvio::CsvError;
pub use nik::{KkNumber, Nik, NikError};
pub use siak::Resident;
pub use stations::Station;
