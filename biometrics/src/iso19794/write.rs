//! The writer of ISO/IEC 19794-2:2005 records: the exact inverse of the reader for every
//! record the reader accepts (reserved bits are written as zero).

use super::{FingerRecord, HEADER_LEN, MAGIC, MINUTIA_LEN, VERSION_2005, VIEW_HEADER_LEN};

impl FingerRecord {
    /// Encodes the record as ISO/IEC 19794-2:2005 bytes.
    ///
    /// Fields wider than the format are truncated to their bit width (14-bit coordinates,
    /// 4-bit view number and impression type, at most 255 minutiae per view and 65535 bytes of
    /// extended data); use [`FingerRecord::check_encodable`] first when the record was built
    /// by hand rather than parsed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(VERSION_2005);
        out.extend_from_slice(&(self.encoded_len() as u32).to_be_bytes());
        for v in [
            self.capture_equipment,
            self.width,
            self.height,
            self.res_x,
            self.res_y,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.push(self.views.len().min(255) as u8);
        out.push(0);
        for view in self.views.iter().take(255) {
            out.push(view.position);
            out.push(((view.view_number & 0x0F) << 4) | (view.impression_type & 0x0F));
            out.push(view.quality);
            out.push(view.minutiae.len().min(255) as u8);
            for m in view.minutiae.iter().take(255) {
                out.extend_from_slice(&((m.kind.code() << 14) | (m.x & 0x3FFF)).to_be_bytes());
                out.extend_from_slice(&(m.y & 0x3FFF).to_be_bytes());
                out.push(m.angle);
                out.push(m.quality);
            }
            let ext = &view.extended[..view.extended.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(ext.len() as u16).to_be_bytes());
            out.extend_from_slice(ext);
        }
        out
    }

    /// Checks that every field fits the record format, so that [`FingerRecord::to_bytes`]
    /// loses nothing.
    pub fn check_encodable(&self) -> Result<(), crate::TemplateError> {
        use crate::TemplateError::TooLarge;
        if self.views.len() > super::MAX_VIEWS {
            return Err(crate::TemplateError::TooManyViews {
                count: self.views.len(),
                max: super::MAX_VIEWS,
            });
        }
        for view in &self.views {
            if view.minutiae.len() > 255 {
                return Err(TooLarge {
                    field: "minutiae per view",
                    value: view.minutiae.len(),
                    max: 255,
                });
            }
            if view.extended.len() > u16::MAX as usize {
                return Err(TooLarge {
                    field: "extended data",
                    value: view.extended.len(),
                    max: u16::MAX as usize,
                });
            }
            if view.view_number > 15 || view.impression_type > 15 {
                return Err(TooLarge {
                    field: "view number / impression type",
                    value: view.view_number.max(view.impression_type) as usize,
                    max: 15,
                });
            }
            for m in &view.minutiae {
                if m.x > 0x3FFF || m.y > 0x3FFF {
                    return Err(TooLarge {
                        field: "minutia coordinate",
                        value: m.x.max(m.y) as usize,
                        max: 0x3FFF,
                    });
                }
            }
        }
        Ok(())
    }

    /// Length in bytes of the encoded record.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self
                .views
                .iter()
                .take(255)
                .map(|v| {
                    VIEW_HEADER_LEN
                        + MINUTIA_LEN * v.minutiae.len().min(255)
                        + 2
                        + v.extended.len().min(u16::MAX as usize)
                })
                .sum::<usize>()
    }
}
