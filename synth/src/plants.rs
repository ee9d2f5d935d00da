//! Plants: the situations put into a synthetic country on purpose, one per landed packet, as
//! written to the truth file's `case` column (the column keeps its name: it is the files' contract).

use packet::ReasonCode;
use std::fmt;

/// The defects planted as bad packets, each with the reason ingest must give.
pub const BAD_KINDS: &[ReasonCode] = &[
    ReasonCode::CorruptZip,
    ReasonCode::MalformedTemplate,
    ReasonCode::BadSignature,
    ReasonCode::MissingSignature,
    ReasonCode::UnknownStation,
    ReasonCode::StationRetired,
    ReasonCode::NikNotInSiak,
    ReasonCode::BiodataNikMismatch,
    ReasonCode::DuplicatePacket,
    ReasonCode::MemberTooLarge,
    ReasonCode::UnsafePath,
    ReasonCode::UnsupportedFormatVersion,
    ReasonCode::HashMismatch,
];

/// What one landed packet is, in truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Plant {
    /// A first enrollment of a person seen nowhere else.
    Unique,
    /// The same person again under a different NIK (a second SIAK identity): must be caught
    /// by 1:N matching.
    FraudDuplicate,
    /// The same person and NIK again (lost or damaged card), with a new capture.
    Reenrollment,
    /// One of adult twins: same KK, address, surname, birth date; different biometrics.
    Twin,
    /// A close relative of another enrollee in the same household (related fingers).
    Family,
    /// Some fingers (and sometimes an eye) declared missing.
    MissingFingers,
    /// Every capture of the packet at poor quality.
    PoorCapture,
    /// A person enrolled in an earlier batch of the store enrolling again under a new NIK of
    /// this batch (same fingers, new capture): must be caught against the gallery.
    CrossBatchDuplicate,
    /// Another person (own biometrics) enrolling under the NIK and biodata of a resident an
    /// earlier batch enrolled: must end `nik_conflict`.
    NikHijack,
    /// A packet that ingest must reject with this reason.
    Bad(ReasonCode),
}

impl Plant {
    /// Whether ingest should accept the packet.
    pub fn is_bad(self) -> bool {
        matches!(self, Plant::Bad(_))
    }

    /// The truth-file spelling for the good cases (bad cases are `bad:<CODE>`).
    fn label(self) -> &'static str {
        match self {
            Plant::Unique => "unique",
            Plant::FraudDuplicate => "fraud_duplicate",
            Plant::Reenrollment => "reenrollment",
            Plant::Twin => "twin",
            Plant::Family => "family",
            Plant::MissingFingers => "missing_fingers",
            Plant::PoorCapture => "poor_capture",
            Plant::CrossBatchDuplicate => "cross_batch_duplicate",
            Plant::NikHijack => "nik_hijack",
            Plant::Bad(_) => "bad",
        }
    }
}

impl fmt::Display for Plant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Plant::Bad(code) => write!(f, "bad:{code}"),
            other => f.write_str(other.label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Plant::FraudDuplicate.to_string(), "fraud_duplicate");
        assert_eq!(
            Plant::Bad(ReasonCode::UnsafePath).to_string(),
            "bad:UNSAFE_PATH"
        );
        assert!(Plant::Bad(ReasonCode::CorruptZip).is_bad());
        assert!(!Plant::Twin.is_bad());
    }
}
