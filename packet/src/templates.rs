//! Biometric members of a packet: parsing finger records and iris codes with the
//! `biometrics` crate, and checking that each record agrees with the member name it came in.

use biometrics::iris::IrisCode;
use biometrics::iso19794::{self, FingerRecord};

use crate::manifest::Eye;
use crate::reason::{ReasonCode, Rejection};

/// A finger member: the bytes as received (stored as-is downstream) and their parsed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerTemplate {
    /// The ISO/IEC 19794-2:2005 record bytes.
    pub bytes: Vec<u8>,
    /// The parsed record.
    pub record: FingerRecord,
}

/// An iris member: the bytes as received and their parsed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrisTemplate {
    /// The IrisCode v1 record bytes (528).
    pub bytes: Vec<u8>,
    /// The parsed IrisCode.
    pub code: IrisCode,
}

/// Parses `finger/<position>.fmr`: a valid record with at least one view, and every view's
/// finger position either unknown (0) or equal to the member's position.
pub fn parse_finger(position: u8, bytes: Vec<u8>) -> Result<FingerTemplate, Rejection> {
    let name = crate::members::finger(position);
    let record = iso19794::parse(&bytes).map_err(|e| {
        Rejection::new(
            ReasonCode::MalformedTemplate,
            format!("{name} is not a valid ISO/IEC 19794-2:2005 record ({e})"),
        )
    })?;
    if record.views.is_empty() {
        return Err(Rejection::new(
            ReasonCode::MalformedTemplate,
            format!("{name} has no finger view"),
        ));
    }
    if record
        .views
        .iter()
        .any(|v| v.position != 0 && v.position != position)
    {
        return Err(Rejection::new(
            ReasonCode::MalformedTemplate,
            format!("{name} holds a view of another finger position"),
        ));
    }
    Ok(FingerTemplate { bytes, record })
}

/// Parses `iris/<eye>.irc`: a valid IrisCode v1 record of the same eye.
pub fn parse_iris(eye: Eye, bytes: Vec<u8>) -> Result<IrisTemplate, Rejection> {
    let name = crate::members::iris(eye);
    let code = IrisCode::from_bytes(&bytes).map_err(|e| {
        Rejection::new(
            ReasonCode::MalformedTemplate,
            format!("{name} is not a valid IrisCode v1 record ({e})"),
        )
    })?;
    let expected = match eye {
        Eye::Right => biometrics::iris::Eye::Right,
        Eye::Left => biometrics::iris::Eye::Left,
    };
    if code.eye != expected {
        return Err(Rejection::new(
            ReasonCode::MalformedTemplate,
            format!("{name} holds a code of the other eye"),
        ));
    }
    Ok(IrisTemplate { bytes, code })
}
