//! Where synthetic people live: provinces weighted by their real population, their time zone,
//! and the cultural mix (naming tradition, religion) a household there is drawn from.
//!
//! Figures are rounded 2020-census populations (millions) and provincial religion shares;
//! they only need to give a realistic *shape* (Java dominates, Bali is Hindu, NTT Catholic,
//! North Sulawesi and Papua Protestant, Batak names in North Sumatra…).

use crate::names::Flavour;
use chrono::FixedOffset;
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use reference::Religion;

/// Rounded population by province code, in millions.
const POPULATION: &[(&str, f64)] = &[
    ("11", 5.3),
    ("12", 14.8),
    ("13", 5.5),
    ("14", 6.4),
    ("15", 3.5),
    ("16", 8.5),
    ("17", 2.0),
    ("18", 9.0),
    ("19", 1.5),
    ("21", 2.1),
    ("31", 10.6),
    ("32", 48.3),
    ("33", 36.5),
    ("34", 3.7),
    ("35", 41.0),
    ("36", 11.9),
    ("51", 4.3),
    ("52", 5.3),
    ("53", 5.3),
    ("61", 5.4),
    ("62", 2.7),
    ("63", 4.1),
    ("64", 3.8),
    ("65", 0.7),
    ("71", 2.6),
    ("72", 3.0),
    ("73", 9.1),
    ("74", 2.6),
    ("75", 1.2),
    ("76", 1.4),
    ("81", 1.8),
    ("82", 1.3),
    ("91", 1.0),
    ("92", 0.6),
    ("93", 0.5),
    ("94", 1.4),
    ("95", 1.4),
    ("96", 0.6),
];

/// Picks provinces in proportion to their real population.
pub struct ProvincePicker {
    codes: Vec<&'static str>,
    dist: WeightedIndex<f64>,
}

impl ProvincePicker {
    /// A picker over every province of the population table.
    pub fn new() -> ProvincePicker {
        let codes = POPULATION.iter().map(|p| p.0).collect();
        let dist = WeightedIndex::new(POPULATION.iter().map(|p| p.1))
            .unwrap_or_else(|_| unreachable_weights());
        ProvincePicker { codes, dist }
    }

    /// One province code.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        self.codes[self.dist.sample(rng)]
    }
}

impl Default for ProvincePicker {
    fn default() -> Self {
        ProvincePicker::new()
    }
}

/// The constant weights above are positive; this is never reached.
fn unreachable_weights() -> WeightedIndex<f64> {
    WeightedIndex::new([1.0]).expect("one positive weight")
}

/// Local time offset of a province: WIB +07:00, WITA +08:00, WIT +09:00.
pub fn utc_offset(province: &str) -> FixedOffset {
    let hours = match province {
        "51" | "52" | "53" | "63" | "64" | "65" | "71" | "72" | "73" | "74" | "75" | "76" => 8,
        "81" | "82" | "91" | "92" | "93" | "94" | "95" | "96" => 9,
        _ => 7,
    };
    FixedOffset::east_opt(hours * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("utc"))
}

/// The naming traditions of a province with their shares.
fn flavours(province: &str) -> &'static [(Flavour, f64)] {
    use Flavour::*;
    match province {
        "11" => &[(Malay, 0.95), (Javanese, 0.05)],
        "12" => &[
            (Batak, 0.55),
            (Malay, 0.25),
            (Javanese, 0.15),
            (Chinese, 0.05),
        ],
        "13" => &[(Minang, 0.9), (Malay, 0.05), (Javanese, 0.05)],
        "14" | "15" | "16" | "17" | "19" | "21" => &[
            (Malay, 0.6),
            (Javanese, 0.25),
            (Minang, 0.1),
            (Chinese, 0.05),
        ],
        "18" => &[(Javanese, 0.6), (Malay, 0.3), (Sundanese, 0.1)],
        "31" => &[
            (Javanese, 0.35),
            (Malay, 0.25),
            (Sundanese, 0.2),
            (Chinese, 0.08),
            (Batak, 0.07),
            (Minang, 0.05),
        ],
        "32" | "36" => &[(Sundanese, 0.8), (Javanese, 0.15), (Malay, 0.05)],
        "33" | "34" | "35" => &[(Javanese, 0.97), (Chinese, 0.03)],
        "51" => &[(Balinese, 0.88), (Javanese, 0.12)],
        "52" => &[(Malay, 0.85), (Balinese, 0.1), (Javanese, 0.05)],
        "53" => &[(Eastern, 0.9), (Malay, 0.1)],
        "61" => &[
            (Malay, 0.45),
            (Dayak, 0.35),
            (Chinese, 0.1),
            (Javanese, 0.1),
        ],
        "62" => &[(Dayak, 0.5), (Malay, 0.25), (Javanese, 0.25)],
        "63" | "64" | "65" => &[(Malay, 0.55), (Javanese, 0.3), (Bugis, 0.1), (Dayak, 0.05)],
        "71" => &[(Minahasa, 0.7), (Malay, 0.3)],
        "73" | "74" | "76" => &[(Bugis, 0.9), (Javanese, 0.1)],
        "72" | "75" => &[(Malay, 0.6), (Bugis, 0.3), (Minahasa, 0.1)],
        "81" | "82" => &[(Eastern, 0.5), (Malay, 0.5)],
        "91" | "92" | "93" | "94" | "95" | "96" => &[
            (Papuan, 0.7),
            (Javanese, 0.15),
            (Bugis, 0.1),
            (Eastern, 0.05),
        ],
        _ => &[(Malay, 0.6), (Javanese, 0.4)],
    }
}

/// Draws the naming tradition of a household in a province.
pub fn pick_flavour<R: Rng + ?Sized>(province: &str, rng: &mut R) -> Flavour {
    pick_weighted(flavours(province), rng)
}

/// Religion shares for a household of a naming tradition in a province.
fn religions(province: &str, flavour: Flavour) -> &'static [(Religion, f64)] {
    use Religion::*;
    match flavour {
        Flavour::Batak => &[(Kristen, 0.62), (Katolik, 0.15), (Islam, 0.23)],
        Flavour::Minahasa => &[(Kristen, 0.85), (Katolik, 0.08), (Islam, 0.07)],
        Flavour::Papuan => &[(Kristen, 0.78), (Katolik, 0.2), (Islam, 0.02)],
        Flavour::Eastern if province == "53" => &[(Katolik, 0.6), (Kristen, 0.38), (Islam, 0.02)],
        Flavour::Eastern => &[(Kristen, 0.75), (Katolik, 0.15), (Islam, 0.1)],
        Flavour::Balinese => &[
            (Hindu, 0.97),
            (Kristen, 0.015),
            (Katolik, 0.01),
            (Buddha, 0.005),
        ],
        Flavour::Chinese => &[
            (Buddha, 0.45),
            (Kristen, 0.25),
            (Katolik, 0.18),
            (Konghucu, 0.1),
            (Islam, 0.02),
        ],
        Flavour::Dayak => &[
            (Kristen, 0.4),
            (Katolik, 0.3),
            (Islam, 0.15),
            (Hindu, 0.1),
            (Kepercayaan, 0.05),
        ],
        Flavour::Minang | Flavour::Bugis => &[(Islam, 0.99), (Kristen, 0.01)],
        Flavour::Javanese | Flavour::Sundanese | Flavour::Malay => match province {
            "11" => &[(Islam, 0.995), (Kristen, 0.005)],
            "31" => &[(Islam, 0.9), (Kristen, 0.06), (Katolik, 0.04)],
            _ => &[
                (Islam, 0.96),
                (Kristen, 0.025),
                (Katolik, 0.01),
                (Kepercayaan, 0.005),
            ],
        },
    }
}

/// Draws a household's religion from the shares of its tradition and province.
pub fn pick_religion<R: Rng + ?Sized>(province: &str, flavour: Flavour, rng: &mut R) -> Religion {
    pick_weighted(religions(province, flavour), rng)
}

/// Draws one item of a small weighted table.
pub fn pick_weighted<T: Copy, R: Rng + ?Sized>(table: &[(T, f64)], rng: &mut R) -> T {
    let total: f64 = table.iter().map(|t| t.1).sum();
    let mut u = rng.gen::<f64>() * total;
    for (item, w) in table {
        if u < *w {
            return *item;
        }
        u -= w;
    }
    table[table.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashMap;

    #[test]
    fn every_weighted_province_exists_and_java_dominates() {
        for (code, _) in POPULATION {
            assert!(
                reference::regions::regions().province(code).is_some(),
                "{code}"
            );
        }
        let picker = ProvincePicker::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for _ in 0..20_000 {
            *counts.entry(picker.pick(&mut rng)).or_default() += 1;
        }
        let jabar = counts["32"];
        assert!(jabar > counts["35"] && counts["35"] > counts["33"]);
        assert!(jabar > 10 * counts.get("51").copied().unwrap_or(0));
    }

    #[test]
    fn religion_follows_region() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let bali: Vec<Religion> = (0..500)
            .map(|_| {
                let f = pick_flavour("51", &mut rng);
                pick_religion("51", f, &mut rng)
            })
            .collect();
        let hindu = bali.iter().filter(|r| **r == Religion::Hindu).count();
        assert!(hindu > 350, "{hindu}");
        let ntt_catholic = (0..500)
            .filter(|_| {
                let f = pick_flavour("53", &mut rng);
                pick_religion("53", f, &mut rng) == Religion::Katolik
            })
            .count();
        assert!(ntt_catholic > 200, "{ntt_catholic}");
        assert_eq!(utc_offset("51").local_minus_utc(), 8 * 3600);
        assert_eq!(utc_offset("94").local_minus_utc(), 9 * 3600);
        assert_eq!(utc_offset("32").local_minus_utc(), 7 * 3600);
    }
}
