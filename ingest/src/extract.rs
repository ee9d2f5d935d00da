//! Turning an accepted [`Packet`] into lake rows: one `enrollments` row, ten `fingerprints`
//! rows (captured or declared missing) and two `irises` rows.
//!
//! Missing fingers and eyes keep their row, with a null template and the declared reason,
//! so every enrollment has exactly ten finger rows and two eye rows.

use std::collections::BTreeMap;

use lake::tables::enrollments::{enrollment_id_for, EnrollmentRecord};
use lake::tables::fingerprints::FingerprintRecord;
use lake::tables::irises::IrisRecord;
use packet::{Eye, MissingReason, Packet};

/// The rows one accepted packet adds to the child tables.
#[derive(Clone, Debug)]
pub struct EnrollmentRows {
    /// The `enrollments` row.
    pub enrollment: EnrollmentRecord,
    /// Ten `fingerprints` rows, positions 1..=10.
    pub fingerprints: Vec<FingerprintRecord>,
    /// Two `irises` rows, right then left.
    pub irises: Vec<IrisRecord>,
}

/// Lower-case word stored in `missing_reason`.
fn reason_str(reason: MissingReason) -> &'static str {
    match reason {
        MissingReason::Amputated => "amputated",
        MissingReason::Bandaged => "bandaged",
        MissingReason::Unusable => "unusable",
    }
}

/// Builds the rows of an accepted packet, stamped with `run_id`; `prepared` holds the
/// matcher's prepared form of each captured finger by position (see `validate::Checked`).
pub fn rows(p: &Packet, prepared: &BTreeMap<u8, Vec<u8>>, run_id: &str) -> EnrollmentRows {
    let m = &p.manifest;
    let b = &p.biodata;
    let enrollment_id = enrollment_id_for(&m.packet_id);
    let enrollment = EnrollmentRecord {
        enrollment_id: enrollment_id.clone(),
        packet_id: m.packet_id.clone(),
        nik: b.nik.as_str().to_string(),
        kk_number: b.kk_number.as_str().to_string(),
        name: b.name.clone(),
        birth_place: b.birth_place.clone(),
        birth_date: b.birth_date,
        sex: b.sex.as_str().to_string(),
        blood_type: b.blood_type.as_str().to_string(),
        address: b.address.clone(),
        rt: i32::from(b.rt),
        rw: i32::from(b.rw),
        village_code: b.village_code.clone(),
        district_code: b.district_code.clone(),
        regency_code: b.regency_code.clone(),
        province_code: b.province_code.clone(),
        religion: b.religion.as_str().to_string(),
        marital_status: b.marital_status.as_str().to_string(),
        occupation: b.occupation.clone(),
        citizenship: b.citizenship.as_str().to_string(),
        site: m.site.clone(),
        station_id: m.station_id.clone(),
        operator_nik: m.operator_nik.as_str().to_string(),
        capture_started: m.capture_started_at.to_utc(),
        capture_finished: m.capture_ended_at.to_utc(),
        finger_scanner: m.devices.finger_scanner.clone(),
        iris_camera: m.devices.iris_camera.clone(),
        camera: m.devices.camera.clone(),
        signature_pad: m.devices.signature_pad.clone(),
        run_id: run_id.to_string(),
    };
    let fingerprints = (1u8..=10)
        .map(|position| {
            let template = p.fingers.get(&position);
            let view = template.and_then(|t| t.record.views.first());
            FingerprintRecord {
                enrollment_id: enrollment_id.clone(),
                position: i16::from(position),
                template: template.map(|t| t.bytes.clone()),
                prepared: template.and(prepared.get(&position).cloned()),
                minutiae_count: view.map(|v| v.minutiae.len().min(i16::MAX as usize) as i16),
                quality: view.map(|v| i16::from(v.quality)),
                missing_reason: m.finger_missing(position).map(|r| reason_str(r).into()),
                run_id: run_id.to_string(),
            }
        })
        .collect();
    let irises = Eye::BOTH
        .iter()
        .map(|&eye| {
            let template = p.irises.get(&eye);
            IrisRecord {
                enrollment_id: enrollment_id.clone(),
                eye: eye.as_str().to_string(),
                code: template.map(|t| t.bytes.clone()),
                quality: template.map(|t| i16::from(t.code.quality)),
                missing_reason: m.eye_missing(eye).map(|r| reason_str(r).into()),
                run_id: run_id.to_string(),
            }
        })
        .collect();
    EnrollmentRows {
        enrollment,
        fingerprints,
        irises,
    }
}
