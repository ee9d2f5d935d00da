//! Closed vocabularies of the civil registry (SIAK) as printed on the card: sex, religion,
//! marital status, blood type, citizenship and the relation to the head of a family card.
//!
//! Values serialize to the upper-case Indonesian words SIAK exports and the card shows
//! (`LAKI-LAKI`, `ISLAM`, `BELUM KAWIN`, …), so CSV extracts, packets and lake tables agree on
//! one spelling.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Defines a closed vocabulary with its stable card spelling, `as_str`, `ALL` and `FromStr`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable upper-case spelling used in SIAK extracts, packets and tables.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { vocabulary: stringify!($name) }),
                }
            }
        }
    };
}

/// A string that is not a value of the named vocabulary (the value itself is not kept, as it
/// may be personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {vocabulary} value")]
pub struct UnknownValue {
    /// Name of the vocabulary that was expected.
    pub vocabulary: &'static str,
}

vocabulary! {
    /// Sex as registered (jenis kelamin); it also decides the +40 on the NIK's birth day.
    Sex {
        /// Laki-laki.
        Male => "LAKI-LAKI",
        /// Perempuan.
        Female => "PEREMPUAN",
    }
}

vocabulary! {
    /// Religion (agama) as registered: the six recognised religions plus the belief option
    /// allowed since 2017.
    Religion {
        /// Islam.
        Islam => "ISLAM",
        /// Kristen (Protestant).
        Kristen => "KRISTEN",
        /// Katolik.
        Katolik => "KATOLIK",
        /// Hindu.
        Hindu => "HINDU",
        /// Buddha.
        Buddha => "BUDDHA",
        /// Konghucu (Confucianism).
        Konghucu => "KONGHUCU",
        /// Kepercayaan terhadap Tuhan YME (indigenous belief).
        Kepercayaan => "KEPERCAYAAN",
    }
}

vocabulary! {
    /// Marital status (status perkawinan); being married makes a minor *wajib KTP*.
    MaritalStatus {
        /// Belum kawin (never married).
        BelumKawin => "BELUM KAWIN",
        /// Kawin (married).
        Kawin => "KAWIN",
        /// Cerai hidup (divorced).
        CeraiHidup => "CERAI HIDUP",
        /// Cerai mati (widowed).
        CeraiMati => "CERAI MATI",
    }
}

vocabulary! {
    /// Blood type (golongan darah) as printed on the card; `-` when unknown.
    BloodType {
        /// A.
        A => "A",
        /// B.
        B => "B",
        /// AB.
        Ab => "AB",
        /// O.
        O => "O",
        /// Not known (printed as `-`).
        Unknown => "-",
    }
}

vocabulary! {
    /// Citizenship (kewarganegaraan): citizens and permanent-resident foreigners both hold
    /// an e-KTP.
    Citizenship {
        /// Warga Negara Indonesia.
        Wni => "WNI",
        /// Warga Negara Asing (permanent resident).
        Wna => "WNA",
    }
}

vocabulary! {
    /// Relation to the head of the family card (status hubungan dalam keluarga).
    FamilyRelation {
        /// Kepala keluarga (head of the family).
        Head => "KEPALA KELUARGA",
        /// Suami (husband, when the wife heads the card).
        Husband => "SUAMI",
        /// Istri (wife).
        Wife => "ISTRI",
        /// Anak (child).
        Child => "ANAK",
        /// Orang tua (parent of the head or spouse).
        Parent => "ORANG TUA",
        /// Famili lain (other relative).
        OtherRelative => "FAMILI LAIN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_round_trips_for_every_value() {
        for s in Sex::ALL {
            assert_eq!(s.as_str().parse::<Sex>().unwrap(), *s);
        }
        for r in Religion::ALL {
            assert_eq!(r.as_str().parse::<Religion>().unwrap(), *r);
        }
        for m in MaritalStatus::ALL {
            assert_eq!(m.to_string().parse::<MaritalStatus>().unwrap(), *m);
        }
        assert_eq!(BloodType::Unknown.as_str(), "-");
        assert_eq!(
            serde_json::to_string(&MaritalStatus::BelumKawin).unwrap(),
            "\"BELUM KAWIN\""
        );
    }

    #[test]
    fn unknown_value_is_an_error_without_the_value() {
        let err = "laki".parse::<Sex>().unwrap_err();
        assert_eq!(err.vocabulary, "Sex");
        assert!(!err.to_string().contains("laki"));
    }
}
