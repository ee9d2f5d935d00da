//! The lake's vocabularies: every value a string column of a lake table may hold, as a Rust
//! enum.
//!
//! Statuses, decision outcomes and effects, candidate sources, NIK relations, score bands,
//! packet and run statuses and stage names are written by one crate and read by others (and by
//! analysts' SQL, the console's templates, the export's queries). Each is one enum here with
//! `as_str` (the exact string stored in the table), `FromStr` (an unknown string is an error,
//! never a silent default), `Display` and `ALL`; SQL lists are rendered from the enum by
//! [`sql_list`], so a value cannot be misspelled in one place and not another.
//! docs/glossary.md explains each word.
//!
//! The one idea to hold in mind: the strings stored in the lake are the contract with analysts
//! and with stores written by earlier versions, so a variant's string never changes; a new
//! value is a new variant.

#[cfg(doc)]
use crate::error::LakeError;

/// Defines a vocabulary enum whose variants are stored as the given strings, with `as_str`,
/// `ALL`, `FromStr` (an unknown string is a [`LakeError::Vocabulary`]), `Display` and serde
/// (as the same strings). Exported so that other crates' stored vocabularies (the console's
/// case states and audit actions) are made the same way; the using crate depends on serde.
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The string stored in the lake (and shown in SQL, pages and logs).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::LakeError;

            fn from_str(text: &str) -> ::std::result::Result<Self, $crate::LakeError> {
                match text {
                    $( $text => Ok($name::$variant), )+
                    other => Err($crate::LakeError::Vocabulary {
                        vocabulary: stringify!($name),
                        value: other.to_string(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

crate::vocabulary! {
    /// Where a deduplicated enrollment stands (`identity_status.status`).
    IdentityStatus {
        /// No biometric match: the identity is unique and goes on to personalization.
        Tunggal = "tunggal",
        /// Matches an enrollment with a different NIK: duplicate identity, to adjudication.
        Ganda = "ganda",
        /// Matches an earlier enrollment of the same NIK (lost or damaged card): allowed.
        Reenrollment = "reenrollment",
        /// Same NIK as an earlier enrollment but the biometrics differ: someone else uses it.
        NikConflict = "nik_conflict",
        /// An adjudicator decided the flagged records are different persons (or a legitimate
        /// re-enrollment): the identity goes on to personalization.
        Cleared = "cleared",
        /// An adjudicator decided the record duplicates another person's: blocked for good.
        Duplicate = "duplicate",
        /// An adjudicator referred the record back to its service point for clarification.
        Referred = "referred",
    }
}

impl IdentityStatus {
    /// Statuses whose identities may be personalized (a card printed).
    pub const PERSONALIZABLE: &'static [IdentityStatus] = &[
        IdentityStatus::Tunggal,
        IdentityStatus::Reenrollment,
        IdentityStatus::Cleared,
    ];

    /// Statuses that wait for an adjudicator: their clusters become console cases.
    pub const NEEDS_ADJUDICATION: &'static [IdentityStatus] =
        &[IdentityStatus::Ganda, IdentityStatus::NikConflict];

    /// Whether a card may be printed for an identity with this status.
    pub fn is_personalizable(self) -> bool {
        Self::PERSONALIZABLE.contains(&self)
    }

    /// Whether the identity waits for an adjudicator's decision.
    pub fn needs_adjudication(self) -> bool {
        Self::NEEDS_ADJUDICATION.contains(&self)
    }
}

crate::vocabulary! {
    /// What an adjudicator decided about a case (`decisions.outcome`).
    Outcome {
        /// The records are one person; this enrollment is the duplicate and stays blocked.
        Duplicate = "duplicate",
        /// The records are different persons (a false match): both proceed.
        DifferentPersons = "different_persons",
        /// The same person legitimately enrolled again (lost or damaged card): proceeds.
        Reenrollment = "reenrollment",
        /// Sent back to the service point for clarification.
        ReferBack = "refer_back",
    }
}

crate::vocabulary! {
    /// What a decision does to one enrollment of its case (`decisions.effect`).
    Effect {
        /// It goes on to personalization (status `cleared`).
        Proceed = "proceed",
        /// It is blocked (status `duplicate`).
        Block = "block",
        /// It waits for the service point (status `referred`).
        Refer = "refer",
    }
}

impl Effect {
    /// The identity status this effect gives the enrollment it concerns.
    pub fn status(self) -> IdentityStatus {
        match self {
            Effect::Proceed => IdentityStatus::Cleared,
            Effect::Block => IdentityStatus::Duplicate,
            Effect::Refer => IdentityStatus::Referred,
        }
    }
}

crate::vocabulary! {
    /// Where the candidate of a scored pair came from (`match_candidates.candidate_source`).
    CandidateSource {
        /// Deduplicated by an earlier run: a member of the persisted gallery.
        Gallery = "gallery",
        /// Another probe of the same run.
        SameRun = "same_run",
    }
}

crate::vocabulary! {
    /// How the NIKs of a scored pair relate (`match_candidates.relation`).
    Relation {
        /// Both enrollments carry the same NIK.
        SameNik = "same_nik",
        /// The enrollments carry different NIKs.
        DifferentNik = "different_nik",
    }
}

impl Relation {
    /// The relation of two NIKs.
    pub fn of(a: &str, b: &str) -> Relation {
        if a == b {
            Relation::SameNik
        } else {
            Relation::DifferentNik
        }
    }
}

crate::vocabulary! {
    /// Which threshold a scored pair reached (`match_candidates.band`).
    Band {
        /// At or above the decision threshold: acted upon.
        Match = "match",
        /// Between the `possible` and the decision threshold: recorded for threshold review.
        Possible = "possible",
    }
}

crate::vocabulary! {
    /// What ingest made of a landed object (`packets.status`).
    PacketStatus {
        /// Valid: its enrollment, fingerprints and irises are in the lake.
        Accepted = "accepted",
        /// Refused with a reason code (docs/packet-format.md).
        Rejected = "rejected",
    }
}

crate::vocabulary! {
    /// How a stage run ended, or that it has not (`runs.status`).
    RunStatus {
        /// In progress, or its process died (the next run of the stage says which).
        Running = "running",
        /// Ended normally.
        Succeeded = "succeeded",
        /// Ended with an error, recorded in `detail`.
        Failed = "failed",
        /// Found `running` by a later run of the same stage: its process died.
        Interrupted = "interrupted",
    }
}

crate::vocabulary! {
    /// A stage of the nightly job, as named in `runs.stage`.
    Stage {
        /// Landed packets → lake tables.
        Ingest = "ingest",
        /// 1:N search, clusters and identity statuses.
        Dedup = "dedup",
        /// Personalization jobs for the regency/city offices.
        Export = "export",
        /// Housekeeping: compaction, checkpoints and vacuum of the lake tables; compaction
        /// of the stored gallery.
        Maintain = "maintain",
    }
}

/// Renders values as a parenthesised SQL list of string literals, e.g. `('tunggal', 'cleared')`,
/// for `status IN …` predicates built from a vocabulary.
pub fn sql_list<T: AsRef<str>>(values: &[T]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| crate::delta::sql_literal(v.as_ref()))
        .collect();
    format!("({})", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_from_its_string() {
        for s in IdentityStatus::ALL {
            assert_eq!(s.as_str().parse::<IdentityStatus>().unwrap(), *s);
        }
        for s in RunStatus::ALL {
            assert_eq!(s.to_string().parse::<RunStatus>().unwrap(), *s);
        }
    }

    #[test]
    fn an_unknown_string_is_an_error_that_names_the_vocabulary() {
        let err = "tungal".parse::<IdentityStatus>().unwrap_err().to_string();
        assert!(
            err.contains("IdentityStatus") && err.contains("tungal"),
            "{err}"
        );
    }

    #[test]
    fn serde_uses_the_stored_strings() {
        assert_eq!(
            serde_json::to_string(&IdentityStatus::NikConflict).unwrap(),
            "\"nik_conflict\""
        );
        assert_eq!(
            serde_json::from_str::<Outcome>("\"refer_back\"").unwrap(),
            Outcome::ReferBack
        );
    }

    #[test]
    fn sql_lists_are_quoted_from_the_vocabulary() {
        assert_eq!(
            sql_list(IdentityStatus::PERSONALIZABLE),
            "('tunggal', 'reenrollment', 'cleared')"
        );
    }

    #[test]
    fn each_effect_gives_its_status() {
        assert_eq!(Effect::Proceed.status(), IdentityStatus::Cleared);
        assert_eq!(Effect::Block.status(), IdentityStatus::Duplicate);
        assert_eq!(Effect::Refer.status(), IdentityStatus::Referred);
    }
}
