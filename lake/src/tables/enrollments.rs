//! `enrollments`: one row per accepted packet — the resident's biodata as captured, and who
//! captured it where and when.
//!
//! Every column here except the ids and times is personal data: it is read by SQL, never
//! written to logs. `enrollment_id` is derived from the packet id (see
//! [`enrollment_id_for`]), so re-ingesting the same packet can never mint a second identity.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::columns::{dates, ints, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "enrollments";

/// Namespace of the UUID v5 that turns a packet id into an enrollment id. A random constant
/// chosen once; changing it would change every enrollment id, so it never changes.
const ENROLLMENT_NAMESPACE: Uuid = Uuid::from_u128(0x7c1f3a52_9d0e_4b8a_a1c6_52e06b1d0e47);

/// The enrollment id of the packet `packet_id`: a UUID v5, so the same packet always yields
/// the same enrollment id, across runs and machines.
pub fn enrollment_id_for(packet_id: &str) -> String {
    Uuid::new_v5(&ENROLLMENT_NAMESPACE, packet_id.as_bytes()).to_string()
}

/// Arrow schema of `enrollments`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `enrollment_id` | string | UUID v5 of the packet id; key of `fingerprints` and `irises` |
/// | `packet_id` | string | the packet the enrollment came from |
/// | `nik` | string | the resident's 16-digit NIK |
/// | `kk_number` | string | family card (KK) number |
/// | `name` | string | full name as on the card |
/// | `birth_place` | string | place of birth |
/// | `birth_date` | date | date of birth |
/// | `sex` | string | `LAKI-LAKI` or `PEREMPUAN` |
/// | `blood_type` | string | `A`, `B`, `AB`, `O` (± rhesus) or `-` |
/// | `address` | string | street address |
/// | `rt` | int | RT (neighbourhood unit) number |
/// | `rw` | int | RW (community unit) number |
/// | `village_code` | string | kelurahan/desa code `PP.KK.CC.VVVV` |
/// | `district_code` | string | kecamatan code `PP.KK.CC` |
/// | `regency_code` | string | kabupaten/kota code `PP.KK`; personalization routes by it |
/// | `province_code` | string | provinsi code `PP` |
/// | `religion` | string | religion as printed on the card |
/// | `marital_status` | string | marital status as printed on the card |
/// | `occupation` | string | occupation |
/// | `citizenship` | string | `WNI` or `WNA` |
/// | `site` | string | service point (district code) that captured the packet |
/// | `station_id` | string | capture station that signed the packet |
/// | `operator_nik` | string | NIK of the operator who confirmed the capture (personal data) |
/// | `capture_started` | timestamp | capture start time from the manifest |
/// | `capture_finished` | timestamp | capture end time from the manifest |
/// | `finger_scanner` | string | fingerprint scanner id from the manifest |
/// | `iris_camera` | string | iris camera id |
/// | `camera` | string | face camera id |
/// | `signature_pad` | string | signature pad id |
/// | `run_id` | string | the ingest run that wrote the row |
pub fn schema() -> SchemaRef {
    let mut fields: Vec<Field> = [
        "enrollment_id",
        "packet_id",
        "nik",
        "kk_number",
        "name",
        "birth_place",
    ]
    .iter()
    .map(|n| text(n, false))
    .collect();
    fields.push(Field::new("birth_date", DataType::Date32, false));
    fields.extend(
        ["sex", "blood_type", "address"]
            .iter()
            .map(|n| text(n, false)),
    );
    fields.push(Field::new("rt", DataType::Int32, false));
    fields.push(Field::new("rw", DataType::Int32, false));
    fields.extend(
        [
            "village_code",
            "district_code",
            "regency_code",
            "province_code",
            "religion",
            "marital_status",
            "occupation",
            "citizenship",
            "site",
            "station_id",
            "operator_nik",
        ]
        .iter()
        .map(|n| text(n, false)),
    );
    fields.push(timestamp("capture_started", false));
    fields.push(timestamp("capture_finished", false));
    fields.extend(
        [
            "finger_scanner",
            "iris_camera",
            "camera",
            "signature_pad",
            "run_id",
        ]
        .iter()
        .map(|n| text(n, false)),
    );
    Arc::new(Schema::new(fields))
}

/// One row of `enrollments`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnrollmentRecord {
    /// UUID v5 of the packet id ([`enrollment_id_for`]).
    pub enrollment_id: String,
    /// Packet id from the manifest.
    pub packet_id: String,
    /// Resident NIK.
    pub nik: String,
    /// KK number.
    pub kk_number: String,
    /// Full name.
    pub name: String,
    /// Place of birth.
    pub birth_place: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Sex, card spelling.
    pub sex: String,
    /// Blood type, card spelling.
    pub blood_type: String,
    /// Street address.
    pub address: String,
    /// RT number.
    pub rt: i32,
    /// RW number.
    pub rw: i32,
    /// Village code.
    pub village_code: String,
    /// District code.
    pub district_code: String,
    /// Regency/city code.
    pub regency_code: String,
    /// Province code.
    pub province_code: String,
    /// Religion, card spelling.
    pub religion: String,
    /// Marital status, card spelling.
    pub marital_status: String,
    /// Occupation.
    pub occupation: String,
    /// Citizenship, card spelling.
    pub citizenship: String,
    /// Service point (district code).
    pub site: String,
    /// Capture station.
    pub station_id: String,
    /// Operator NIK.
    pub operator_nik: String,
    /// Capture start.
    pub capture_started: DateTime<Utc>,
    /// Capture end.
    pub capture_finished: DateTime<Utc>,
    /// Fingerprint scanner id.
    pub finger_scanner: String,
    /// Iris camera id.
    pub iris_camera: String,
    /// Face camera id.
    pub camera: String,
    /// Signature pad id.
    pub signature_pad: String,
    /// Ingest run that wrote the row.
    pub run_id: String,
}

/// Builds a record batch of `enrollments` rows.
pub fn to_batch(rows: &[EnrollmentRecord]) -> Result<RecordBatch> {
    let s = |f: fn(&EnrollmentRecord) -> &str| strings(rows.iter().map(f));
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            s(|r| &r.enrollment_id),
            s(|r| &r.packet_id),
            s(|r| &r.nik),
            s(|r| &r.kk_number),
            s(|r| &r.name),
            s(|r| &r.birth_place),
            dates(rows.iter().map(|r| r.birth_date)),
            s(|r| &r.sex),
            s(|r| &r.blood_type),
            s(|r| &r.address),
            ints(rows.iter().map(|r| r.rt)),
            ints(rows.iter().map(|r| r.rw)),
            s(|r| &r.village_code),
            s(|r| &r.district_code),
            s(|r| &r.regency_code),
            s(|r| &r.province_code),
            s(|r| &r.religion),
            s(|r| &r.marital_status),
            s(|r| &r.occupation),
            s(|r| &r.citizenship),
            s(|r| &r.site),
            s(|r| &r.station_id),
            s(|r| &r.operator_nik),
            timestamps(rows.iter().map(|r| r.capture_started)),
            timestamps(rows.iter().map(|r| r.capture_finished)),
            s(|r| &r.finger_scanner),
            s(|r| &r.iris_camera),
            s(|r| &r.camera),
            s(|r| &r.signature_pad),
            s(|r| &r.run_id),
        ],
    )?)
}

/// Reads `enrollments` rows back from a batch holding every column of the table (a scan or
/// a `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<EnrollmentRecord>> {
    let c = Columns::new(batch);
    let enrollment_id = c.text("enrollment_id")?;
    let packet_id = c.text("packet_id")?;
    let nik = c.text("nik")?;
    let kk_number = c.text("kk_number")?;
    let name = c.text("name")?;
    let birth_place = c.text("birth_place")?;
    let birth_date = c.dates("birth_date")?;
    let sex = c.text("sex")?;
    let blood_type = c.text("blood_type")?;
    let address = c.text("address")?;
    let rt = c.ints("rt")?;
    let rw = c.ints("rw")?;
    let village_code = c.text("village_code")?;
    let district_code = c.text("district_code")?;
    let regency_code = c.text("regency_code")?;
    let province_code = c.text("province_code")?;
    let religion = c.text("religion")?;
    let marital_status = c.text("marital_status")?;
    let occupation = c.text("occupation")?;
    let citizenship = c.text("citizenship")?;
    let site = c.text("site")?;
    let station_id = c.text("station_id")?;
    let operator_nik = c.text("operator_nik")?;
    let capture_started = c.times("capture_started")?;
    let capture_finished = c.times("capture_finished")?;
    let finger_scanner = c.text("finger_scanner")?;
    let iris_camera = c.text("iris_camera")?;
    let camera = c.text("camera")?;
    let signature_pad = c.text("signature_pad")?;
    let run_id = c.text("run_id")?;
    Ok((0..c.len())
        .map(|r| EnrollmentRecord {
            enrollment_id: enrollment_id.string(r),
            packet_id: packet_id.string(r),
            nik: nik.string(r),
            kk_number: kk_number.string(r),
            name: name.string(r),
            birth_place: birth_place.string(r),
            birth_date: birth_date.get(r),
            sex: sex.string(r),
            blood_type: blood_type.string(r),
            address: address.string(r),
            rt: rt.value(r),
            rw: rw.value(r),
            village_code: village_code.string(r),
            district_code: district_code.string(r),
            regency_code: regency_code.string(r),
            province_code: province_code.string(r),
            religion: religion.string(r),
            marital_status: marital_status.string(r),
            occupation: occupation.string(r),
            citizenship: citizenship.string(r),
            site: site.string(r),
            station_id: station_id.string(r),
            operator_nik: operator_nik.string(r),
            capture_started: capture_started.get(r),
            capture_finished: capture_finished.get(r),
            finger_scanner: finger_scanner.string(r),
            iris_camera: iris_camera.string(r),
            camera: camera.string(r),
            signature_pad: signature_pad.string(r),
            run_id: run_id.string(r),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollment_id_is_a_stable_function_of_the_packet_id() {
        let a = enrollment_id_for("3f0c9a1e-0000-4000-8000-000000000001");
        assert_eq!(a, enrollment_id_for("3f0c9a1e-0000-4000-8000-000000000001"));
        assert_ne!(a, enrollment_id_for("3f0c9a1e-0000-4000-8000-000000000002"));
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 5);
    }

    #[test]
    fn batch_has_one_row_per_record_and_the_schema_columns() {
        let row = EnrollmentRecord {
            enrollment_id: "e".into(),
            packet_id: "p".into(),
            nik: "3171010101900001".into(),
            name: "X".into(),
            sex: "L".into(),
            site: "s".into(),
            station_id: "st".into(),
            operator_nik: "3171010101800002".into(),
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
            run_id: "r".into(),
            ..Default::default()
        };
        let batch = to_batch(&[row.clone(), row]).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.num_columns(), schema().fields().len());
    }
}
