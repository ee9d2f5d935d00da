//! The planted situations a synthetic packet represents, as written to the truth file's
//! `case` column.

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
pub enum Case {
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
    /// A packet that ingest must reject with this reason.
    Bad(ReasonCode),
}

impl Case {
    /// Whether ingest should accept the packet.
    pub fn is_bad(self) -> bool {
        matches!(self, Case::Bad(_))
    }

    /// The truth-file spelling for the good cases (bad cases are `bad:<CODE>`).
    fn label(self) -> &'static str {
        match self {
            Case::Unique => "unique",
            Case::FraudDuplicate => "fraud_duplicate",
            Case::Reenrollment => "reenrollment",
            Case::Twin => "twin",
            Case::Family => "family",
            Case::MissingFingers => "missing_fingers",
            Case::PoorCapture => "poor_capture",
            Case::Bad(_) => "bad",
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Case::Bad(code) => write!(f, "bad:{code}"),
            other => f.write_str(other.label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Case::FraudDuplicate.to_string(), "fraud_duplicate");
        assert_eq!(
            Case::Bad(ReasonCode::UnsafePath).to_string(),
            "bad:UNSAFE_PATH"
        );
        assert!(Case::Bad(ReasonCode::CorruptZip).is_bad());
        assert!(!Case::Twin.is_bad());
    }
}
