//! ISO/IEC 19794-2:2005 finger minutiae record format (`FMR\0`, version ` 20\0`): the types,
//! a strict reader ([`parse`]) and a writer ([`FingerRecord::to_bytes`]).
//!
//! This is the format in which every enrollment packet carries its ten fingers. The reader
//! refuses the look-alike formats (ISO 2011 and the ANSI INCITS 378 family) by name instead of
//! mis-reading them, and never panics on any input.

mod read;
mod version;
mod write;

pub use read::parse;

/// A whole finger minutiae record: the header fields and one or more finger views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerRecord {
    /// Capture equipment field as stored (upper 4 bits: compliance, lower 12 bits: device id).
    pub capture_equipment: u16,
    /// Width of the image the minutiae were extracted from, in pixels.
    pub width: u16,
    /// Height of the image, in pixels.
    pub height: u16,
    /// Horizontal resolution in pixels per centimetre (197 ≈ 500 dpi).
    pub res_x: u16,
    /// Vertical resolution in pixels per centimetre.
    pub res_y: u16,
    /// The finger views of the record (usually one per finger).
    pub views: Vec<FingerView>,
}

/// One finger view: an impression of one finger and its minutiae.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerView {
    /// ISO finger position: 0 unknown, 1 right thumb … 5 right little, 6 left thumb … 10 left little.
    pub position: u8,
    /// View number (0..15) when a finger has several views.
    pub view_number: u8,
    /// Impression type (0 live plain, 1 live rolled, 2 non-live plain, 3 non-live rolled, 8 swipe …).
    pub impression_type: u8,
    /// Finger quality 0..100 (0 = not computed).
    pub quality: u8,
    /// The minutiae of this view.
    pub minutiae: Vec<Minutia>,
    /// The raw extended data block (ridge counts, core/delta, vendor data), without its
    /// 2-byte length prefix; empty when the record has none. Kept verbatim for round trips.
    pub extended: Vec<u8>,
}

/// One minutia: a ridge ending or bifurcation with its position and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minutia {
    /// Ridge ending, bifurcation or other.
    pub kind: MinutiaKind,
    /// Column in pixels from the left edge.
    pub x: u16,
    /// Row in pixels from the top edge.
    pub y: u16,
    /// Direction in ISO units of 360/256 degrees, counter-clockwise from the x axis.
    pub angle: u8,
    /// Minutia quality 0..100 (0 = not reported).
    pub quality: u8,
}

/// The type of a minutia as coded in the two top bits of its x field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MinutiaKind {
    /// Type `00`: other / not determined.
    Other,
    /// Type `01`: ridge ending.
    RidgeEnding,
    /// Type `10`: ridge bifurcation.
    Bifurcation,
}

impl MinutiaKind {
    /// The 2-bit code of this kind in the record.
    pub fn code(self) -> u16 {
        match self {
            MinutiaKind::Other => 0,
            MinutiaKind::RidgeEnding => 1,
            MinutiaKind::Bifurcation => 2,
        }
    }

    /// The kind for a 2-bit code; `None` for the reserved code `11`.
    pub fn from_code(code: u16) -> Option<MinutiaKind> {
        match code {
            0 => Some(MinutiaKind::Other),
            1 => Some(MinutiaKind::RidgeEnding),
            2 => Some(MinutiaKind::Bifurcation),
            _ => None,
        }
    }
}

/// Magic bytes at the start of every finger minutiae record.
pub const MAGIC: &[u8; 4] = b"FMR\0";
/// Version bytes of ISO/IEC 19794-2:2005, the only version accepted.
pub const VERSION_2005: &[u8; 4] = b" 20\0";
/// Size of the record header in bytes.
pub const HEADER_LEN: usize = 24;
/// Size of a finger view header in bytes.
pub const VIEW_HEADER_LEN: usize = 4;
/// Size of one minutia in bytes.
pub const MINUTIA_LEN: usize = 6;
/// Largest number of views: 11 finger positions × 16 view numbers.
pub const MAX_VIEWS: usize = 176;
/// Largest ISO finger position accepted (10 = left little finger).
pub const MAX_FINGER_POSITION: u8 = 10;
