//! Numbers and codes as people at Dukcapil read them: times in the local zone of the site
//! (WIB, WITA, WIT) beside UTC, region names beside their codes, and the iris comparison as a
//! fractional Hamming distance with the distance that counts as strong evidence.
//!
//! The one idea to hold in mind: these only change how a stored value is shown; every
//! conversion is exact (a zone offset, a name lookup, the matcher's own formulas), never a
//! rounding of what the value means.

use biometrics::fusion::Calibration;
use biometrics::iris::HD_NORM_BITS;
use chrono::{DateTime, FixedOffset, Utc};

use crate::evidence::STRONG_LLR;

/// Indonesia's three time zones (Keputusan Presiden No. 41 Tahun 1987, with the provinces
/// created since then in the zone of the province they were split from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// Waktu Indonesia Barat, UTC+7: Sumatra, Java, Kalimantan Barat and Tengah.
    Wib,
    /// Waktu Indonesia Tengah, UTC+8: Bali, Nusa Tenggara, Kalimantan Selatan, Timur and
    /// Utara, Sulawesi.
    Wita,
    /// Waktu Indonesia Timur, UTC+9: Maluku and Papua.
    Wit,
}

impl Zone {
    /// The zone of the data center (Jakarta): where the console's own clock, the day
    /// boundaries of the overview's charts and times without a site are read.
    pub const DATA_CENTER: Zone = Zone::Wib;

    /// Hours ahead of UTC.
    pub fn offset_hours(self) -> i32 {
        match self {
            Zone::Wib => 7,
            Zone::Wita => 8,
            Zone::Wit => 9,
        }
    }

    /// The abbreviation Indonesians write after a time.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Zone::Wib => "WIB",
            Zone::Wita => "WITA",
            Zone::Wit => "WIT",
        }
    }

    /// The fixed offset (Indonesia has no daylight saving time).
    pub fn offset(self) -> FixedOffset {
        FixedOffset::east_opt(self.offset_hours() * 3600).expect("offset in range")
    }

    /// The zone of a province (`PP`, or any code starting with it: `PP.KK…`); the data
    /// center's zone for an unknown code.
    pub fn of_province(code: &str) -> Zone {
        match code.get(..2).and_then(|c| c.parse::<u8>().ok()) {
            // Sumatra (11–19, 21), Java and Banten (31–36).
            Some(11..=19 | 21 | 31..=36) => Zone::Wib,
            // Bali, Nusa Tenggara Barat, Nusa Tenggara Timur.
            Some(51..=53) => Zone::Wita,
            // Kalimantan Barat, Kalimantan Tengah.
            Some(61 | 62) => Zone::Wib,
            // Kalimantan Selatan, Timur, Utara (split from Timur in 2012).
            Some(63..=65) => Zone::Wita,
            // Sulawesi Utara, Tengah, Selatan, Tenggara, Gorontalo, Sulawesi Barat.
            Some(71..=76) => Zone::Wita,
            // Maluku, Maluku Utara.
            Some(81 | 82) => Zone::Wit,
            // Papua and the provinces split from it (Papua Barat, Selatan, Tengah,
            // Pegunungan, Barat Daya).
            Some(91..=96) => Zone::Wit,
            _ => Zone::DATA_CENTER,
        }
    }
}

/// A time as shown: local time of `zone` with its abbreviation, and UTC beside it
/// (`2026-12-01 14:05 WIB (07:05 UTC)`; the UTC date is written too when it differs).
pub fn time_in(time: DateTime<Utc>, zone: Zone) -> String {
    let local = time.with_timezone(&zone.offset());
    let utc = if local.date_naive() == time.date_naive() {
        time.format("%H:%M UTC").to_string()
    } else {
        time.format("%Y-%m-%d %H:%M UTC").to_string()
    };
    format!(
        "{} {} ({utc})",
        local.format("%Y-%m-%d %H:%M"),
        zone.abbreviation()
    )
}

/// A unix time in the zone of a province's sites (see [`time_in`]).
pub fn unix_time_in(secs: i64, province_code: &str) -> String {
    time_in(
        crate::store::to_time(secs),
        Zone::of_province(province_code),
    )
}

/// A region code with its official name: `34.01 Kab. Kulon Progo`; the code alone when the
/// reference table does not know it. Any level: province, regency/city, district, village.
pub fn region(code: &str) -> String {
    let regions = reference::regions::regions();
    let name = match code.matches('.').count() {
        0 => regions.province(code).map(|p| p.name.clone()),
        1 => regions.regency(code).map(|r| r.name.clone()),
        2 => regions.district(code).map(|d| d.name.clone()),
        _ => reference::regions::villages()
            .get(code)
            .map(|v| v.name.clone()),
    };
    match name {
        Some(name) => format!("{code} {name}"),
        None => code.to_string(),
    }
}

/// The name of a province, if the reference table knows the code.
pub fn province_name(code: &str) -> Option<String> {
    reference::regions::regions()
        .province(code)
        .map(|p| p.name.clone())
}

/// The iris Hamming distance at or below which a comparison of `bits` valid bits is strong
/// evidence of the same eye: where the nightly fusion's iris calibration gives an LLR of
/// [`STRONG_LLR`] (the console's line for "strong", 20 times likelier).
///
/// The calibration reads the similarity `1 − 2·HD_norm`, where Daugman's normalisation
/// `HD_norm = 0.5 − (0.5 − HD)·sqrt(bits/911)` accounts for how many bits were compared; this
/// inverts both, so the threshold is in the same units as the distance shown beside it (the
/// fraction of compared bits that differ, 0 for identical codes, about 0.5 for unrelated
/// eyes). Fewer compared bits need a smaller distance. `None` if the calibration never
/// reaches the line.
pub fn iris_strong_hd(bits: u32) -> Option<f32> {
    if bits == 0 {
        return None;
    }
    let cal = Calibration::iris_default();
    if cal.max_llr() < STRONG_LLR {
        return None;
    }
    // The calibration is monotone: bisect for the lowest similarity reaching the line.
    let (mut lo, mut hi) = (0.0f32, 1.0f32);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if cal.llr(mid) >= STRONG_LLR {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let hd_norm = (1.0 - hi) / 2.0;
    let hd = 0.5 - (0.5 - hd_norm) / (bits as f32 / HD_NORM_BITS).sqrt();
    Some(hd.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn provinces_keep_the_official_time_zones() {
        // WIB: Aceh, DKI Jakarta, Banten, Kalimantan Barat and Tengah.
        for code in ["11", "21", "31", "36", "61", "62"] {
            assert_eq!(Zone::of_province(code), Zone::Wib, "{code}");
        }
        // WITA: Bali, NTB, NTT, Kalimantan Selatan/Timur/Utara, every Sulawesi province.
        for code in ["51", "52", "53", "63", "64", "65", "71", "73", "75", "76"] {
            assert_eq!(Zone::of_province(code), Zone::Wita, "{code}");
        }
        // WIT: Maluku, Maluku Utara, Papua and its five new provinces.
        for code in ["81", "82", "91", "92", "93", "94", "95", "96"] {
            assert_eq!(Zone::of_province(code), Zone::Wit, "{code}");
        }
        assert_eq!(Zone::of_province("64.72"), Zone::Wita);
        assert_eq!(Zone::of_province("??"), Zone::DATA_CENTER);
        // Every province of the reference table has a zone of its own range.
        let provinces = reference::regions::regions().provinces();
        assert_eq!(provinces.len(), 38);
        let wit = provinces
            .iter()
            .filter(|p| Zone::of_province(&p.code) == Zone::Wit)
            .count();
        assert_eq!(wit, 8, "Maluku ×2 and Papua ×6");
    }

    #[test]
    fn times_show_the_site_zone_and_utc() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 7, 5, 0).unwrap();
        assert_eq!(time_in(t, Zone::Wib), "2026-12-01 14:05 WIB (07:05 UTC)");
        assert_eq!(time_in(t, Zone::Wit), "2026-12-01 16:05 WIT (07:05 UTC)");
        let late = Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0).unwrap();
        assert_eq!(
            time_in(late, Zone::Wita),
            "2026-12-02 04:00 WITA (2026-12-01 20:00 UTC)"
        );
        assert_eq!(
            unix_time_in(t.timestamp(), "91"),
            "2026-12-01 16:05 WIT (07:05 UTC)"
        );
    }

    #[test]
    fn regions_read_with_their_names() {
        assert_eq!(region("33"), "33 Jawa Tengah");
        assert_eq!(region("33.74"), "33.74 Kota Semarang");
        assert_eq!(region("99.99"), "99.99");
    }

    #[test]
    fn the_iris_threshold_inverts_the_calibration_and_the_normalisation() {
        let at_911 = iris_strong_hd(911).unwrap();
        // At 911 bits HD_norm = HD: the similarity 1 − 2·HD must give the strong LLR.
        let cal = Calibration::iris_default();
        assert!((cal.llr(1.0 - 2.0 * at_911) - STRONG_LLR).abs() < 0.01);
        assert!(at_911 > 0.0 && at_911 < 0.5, "{at_911}");
        // More compared bits: a larger distance is still strong evidence.
        assert!(iris_strong_hd(2048).unwrap() > at_911);
        assert!(iris_strong_hd(300).unwrap() < at_911);
        // And a distance at the threshold scores the strong LLR through the matcher's
        // own formula.
        let bits = 1500u32;
        let hd = iris_strong_hd(bits).unwrap();
        let hd_norm = 0.5 - (0.5 - hd) * (bits as f32 / HD_NORM_BITS).sqrt();
        assert!((cal.llr(1.0 - 2.0 * hd_norm) - STRONG_LLR).abs() < 0.01);
        assert_eq!(iris_strong_hd(0), None);
    }
}
