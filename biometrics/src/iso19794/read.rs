//! The strict reader of ISO/IEC 19794-2:2005 records: a bounds-checked cursor over the input
//! that reports the offset of the first defect.

use crate::TemplateError;

use super::{
    version, FingerRecord, FingerView, Minutia, MinutiaKind, HEADER_LEN, MAGIC,
    MAX_FINGER_POSITION, MAX_VIEWS,
};

/// A bounds-checked big-endian reader over a byte slice.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], TemplateError> {
        let available = self.bytes.len().saturating_sub(self.pos);
        if available < n {
            return Err(TemplateError::Truncated {
                offset: self.pos,
                field,
                needed: n,
                available,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, TemplateError> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, TemplateError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, TemplateError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Parses an ISO/IEC 19794-2:2005 finger minutiae record.
///
/// Refuses other formats and versions by name, truncated or over-long input, minutiae outside
/// the declared image, reserved minutia types and finger positions above 10. Never panics.
pub fn parse(bytes: &[u8]) -> Result<FingerRecord, TemplateError> {
    let mut c = Cursor { bytes, pos: 0 };
    let magic = c.take(4, "magic").map_err(|_| TemplateError::BadMagic {
        expected: MAGIC,
        found: bytes.to_vec(),
    })?;
    if magic != MAGIC {
        return Err(TemplateError::BadMagic {
            expected: MAGIC,
            found: magic.to_vec(),
        });
    }
    version::check(c.take(4, "version")?)?;
    let declared = c.u32("record length")? as usize;
    if declared < HEADER_LEN {
        return Err(TemplateError::InvalidField {
            field: "record length",
            offset: 8,
            value: declared as u32,
        });
    }
    let capture_equipment = c.u16("capture equipment")?;
    let width = c.u16("image width")?;
    let height = c.u16("image height")?;
    let res_x = c.u16("x resolution")?;
    let res_y = c.u16("y resolution")?;
    let view_count = c.u8("number of finger views")? as usize;
    if view_count > MAX_VIEWS {
        return Err(TemplateError::TooManyViews {
            count: view_count,
            max: MAX_VIEWS,
        });
    }
    c.u8("reserved")?;
    let mut views = Vec::with_capacity(view_count);
    for v in 0..view_count {
        views.push(read_view(&mut c, v, width, height)?);
    }
    if c.pos != declared || bytes.len() != declared {
        return Err(TemplateError::LengthMismatch {
            declared,
            actual: bytes.len(),
            parsed: c.pos,
        });
    }
    Ok(FingerRecord {
        capture_equipment,
        width,
        height,
        res_x,
        res_y,
        views,
    })
}

/// Reads one finger view (header, minutiae, extended data block).
fn read_view(
    c: &mut Cursor<'_>,
    view: usize,
    width: u16,
    height: u16,
) -> Result<FingerView, TemplateError> {
    let pos_offset = c.pos;
    let position = c.u8("finger position")?;
    if position > MAX_FINGER_POSITION {
        return Err(TemplateError::InvalidField {
            field: "finger position",
            offset: pos_offset,
            value: position as u32,
        });
    }
    let vi = c.u8("view number / impression type")?;
    let quality = c.u8("finger quality")?;
    let count = c.u8("number of minutiae")? as usize;
    let mut minutiae = Vec::with_capacity(count);
    for index in 0..count {
        let offset = c.pos;
        let tx = c.u16("minutia x")?;
        let ry = c.u16("minutia y")?;
        let angle = c.u8("minutia angle")?;
        let mq = c.u8("minutia quality")?;
        let kind = MinutiaKind::from_code(tx >> 14).ok_or(TemplateError::InvalidField {
            field: "minutia type",
            offset,
            value: (tx >> 14) as u32,
        })?;
        let (x, y) = (tx & 0x3FFF, ry & 0x3FFF);
        if (width > 0 && x >= width) || (height > 0 && y >= height) {
            return Err(TemplateError::CoordinateOutsideImage {
                view,
                index,
                x,
                y,
                width,
                height,
            });
        }
        minutiae.push(Minutia {
            kind,
            x,
            y,
            angle,
            quality: mq,
        });
    }
    let ext_len = c.u16("extended data length")? as usize;
    let extended = c.take(ext_len, "extended data")?.to_vec();
    Ok(FingerView {
        position,
        view_number: vi >> 4,
        impression_type: vi & 0x0F,
        quality,
        minutiae,
        extended,
    })
}
