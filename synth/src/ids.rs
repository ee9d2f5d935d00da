//! Allocation of NIKs and KK numbers that never collide with each other or with residents
//! already in the store's SIAK extract.
//!
//! Serials count up from 0001 per `(district, date, sex)` prefix, skipping numbers already
//! taken. "Ghost" NIKs — valid numbers deliberately absent from SIAK, for planted
//! `NIK_NOT_IN_SIAK` packets — count down from 9999, so a later batch that reads the extract
//! is very unlikely to hand one of them to a real resident.

use crate::SynthError;
use chrono::NaiveDate;
use reference::{KkNumber, Nik, Sex};
use std::collections::{HashMap, HashSet};

/// Hands out unique NIKs and KK numbers.
#[derive(Debug, Default)]
pub struct IdAllocator {
    taken_nik: HashSet<Nik>,
    taken_kk: HashSet<KkNumber>,
    next_nik: HashMap<String, u16>,
    next_ghost: HashMap<String, u16>,
    next_kk: HashMap<String, u16>,
}

/// Lowest serial handed to ghost NIKs; real residents get serials below it.
const GHOST_FLOOR: u16 = 9000;

impl IdAllocator {
    /// An allocator that avoids the given numbers (from the existing SIAK extract).
    pub fn new(existing_niks: HashSet<Nik>, existing_kks: HashSet<KkNumber>) -> IdAllocator {
        IdAllocator {
            taken_nik: existing_niks,
            taken_kk: existing_kks,
            ..IdAllocator::default()
        }
    }

    /// A fresh NIK for someone registered in `district` (dotted) with this birth date and sex.
    pub fn nik(&mut self, district: &str, birth: NaiveDate, sex: Sex) -> Result<Nik, SynthError> {
        let probe = Nik::new(district, birth, sex, 1).map_err(SynthError::Id)?;
        let key = probe.as_str()[..12].to_string();
        let counter = self.next_nik.entry(key).or_insert(1);
        while *counter < GHOST_FLOOR {
            let nik = Nik::new(district, birth, sex, *counter).map_err(SynthError::Id)?;
            *counter += 1;
            if self.taken_nik.insert(nik) {
                return Ok(nik);
            }
        }
        Err(SynthError::IdSpaceExhausted)
    }

    /// A valid NIK that no resident of this batch has and that is reserved from real use.
    pub fn ghost_nik(
        &mut self,
        district: &str,
        birth: NaiveDate,
        sex: Sex,
    ) -> Result<Nik, SynthError> {
        let probe = Nik::new(district, birth, sex, 1).map_err(SynthError::Id)?;
        let key = probe.as_str()[..12].to_string();
        let counter = self.next_ghost.entry(key).or_insert(9999);
        while *counter >= GHOST_FLOOR {
            let nik = Nik::new(district, birth, sex, *counter).map_err(SynthError::Id)?;
            *counter -= 1;
            if self.taken_nik.insert(nik) {
                return Ok(nik);
            }
        }
        Err(SynthError::IdSpaceExhausted)
    }

    /// A fresh family-card number issued in `district` on `issued`.
    pub fn kk(&mut self, district: &str, issued: NaiveDate) -> Result<KkNumber, SynthError> {
        let probe = KkNumber::new(district, issued, 1).map_err(SynthError::Id)?;
        let key = probe.as_str()[..12].to_string();
        let counter = self.next_kk.entry(key).or_insert(1);
        while *counter <= 9999 {
            let kk = KkNumber::new(district, issued, *counter).map_err(SynthError::Id)?;
            *counter += 1;
            if self.taken_kk.insert(kk) {
                return Ok(kk);
            }
        }
        Err(SynthError::IdSpaceExhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_existing_and_keeps_ghosts_apart() {
        let birth = NaiveDate::from_ymd_opt(1990, 1, 2).unwrap();
        let existing = Nik::new("33.74.01", birth, Sex::Male, 1).unwrap();
        let mut ids = IdAllocator::new([existing].into(), HashSet::new());
        let a = ids.nik("33.74.01", birth, Sex::Male).unwrap();
        assert_eq!(a.serial(), 2);
        let b = ids.nik("33.74.01", birth, Sex::Male).unwrap();
        assert_eq!(b.serial(), 3);
        let f = ids.nik("33.74.01", birth, Sex::Female).unwrap();
        assert_eq!(f.serial(), 1);
        let g = ids.ghost_nik("33.74.01", birth, Sex::Male).unwrap();
        assert_eq!(g.serial(), 9999);
        let k1 = ids.kk("33.74.01", birth).unwrap();
        let k2 = ids.kk("33.74.01", birth).unwrap();
        assert_ne!(k1, k2);
    }
}
