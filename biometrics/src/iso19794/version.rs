//! Recognition of the version bytes of finger minutiae records, so that a record in a
//! look-alike standard is refused with its name rather than mis-read.

use crate::TemplateError;

use super::VERSION_2005;

/// Checks bytes 4..8 of an `FMR\0` record; `Ok` only for ISO/IEC 19794-2:2005.
pub(super) fn check(version: &[u8]) -> Result<(), TemplateError> {
    if version == VERSION_2005 {
        return Ok(());
    }
    let text: String = version
        .iter()
        .filter(|b| **b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    let format = match version {
        b"020\0" => "ANSI INCITS 378-2004",
        b"030\0" => "ISO/IEC 19794-2:2011 or ANSI INCITS 378-2009",
        b"035\0" | b" 35\0" => "ANSI INCITS 378-2009/AM1",
        b" 30\0" => "ISO/IEC 19794-2:2011",
        _ => "unknown version",
    };
    Err(TemplateError::UnsupportedVersion {
        version: text.trim().to_string(),
        format,
        supported: "ISO/IEC 19794-2:2005 (' 20')",
    })
}
