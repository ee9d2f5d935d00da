//! Turning one planned packet into the bytes a service point would upload, including the
//! deliberate defects of planted bad packets. Pure and deterministic per packet, so packets
//! are assembled in parallel in any order.

use crate::biometric::Body;
use crate::media;
use crate::plants::Plant;
use crate::world::{capture_times, PlannedPacket, Signer, World};
use crate::SynthError;
use chrono::{Datelike, Months};
use ed25519_dalek::{Signer as _, SigningKey};
use packet::{
    members, zip_members, Biodata, Devices, Eye, Member, PacketBuilder, PacketHeader, ReasonCode,
};
use reference::Sex;
use sha2::{Digest, Sha256};

/// The upload bytes of packet `index` of the world.
pub fn assemble(world: &World, index: usize) -> Result<Vec<u8>, SynthError> {
    let p = &world.packets[index];
    if let Some(orig) = p.copy_of {
        return assemble(world, orig);
    }
    let person = &world.persons[p.person];
    let resident = world.resident_of(p);
    let mut biodata = Biodata::from_resident(resident);
    if p.case == Plant::Bad(ReasonCode::BiodataNikMismatch) {
        if p.capture_seed.is_multiple_of(2) {
            biodata.sex = match biodata.sex {
                Sex::Male => Sex::Female,
                Sex::Female => Sex::Male,
            };
        } else {
            biodata.birth_date = biodata
                .birth_date
                .checked_sub_months(Months::new(13))
                .unwrap_or(biodata.birth_date);
        }
    }
    let fingers: Vec<u8> = (1..=10)
        .filter(|f| !person.missing_fingers.iter().any(|m| m.0 == *f))
        .collect();
    let eyes: Vec<Eye> = Eye::BOTH
        .into_iter()
        .filter(|e| !person.missing_eyes.iter().any(|m| m.0 == *e))
        .collect();
    let capture = Body::of(person.lineage).capture(&fingers, &eyes, p.quality, p.capture_seed);
    let photo = media::photo(
        person.look_seed(),
        p.capture_seed,
        biodata.birth_date.year(),
    )?;
    let signature = media::signature(person.look_seed(), p.capture_seed)?;

    let (station_id, key, operator) = signer(world, p);
    let province = p.site.get(..2).unwrap_or("31");
    let (started, ended) = capture_times(world.start, p.day, province, p.capture_seed, world.until);
    let header = PacketHeader {
        packet_id: p.packet_id.clone(),
        site: p.site.clone(),
        station_id: station_id.clone(),
        operator_nik: operator,
        capture_started_at: started,
        capture_ended_at: ended,
        devices: devices(&station_id),
    };
    let mut builder = PacketBuilder::new(header, biodata)
        .photo(photo)
        .signature_image(signature);
    let malformed = p.case == Plant::Bad(ReasonCode::MalformedTemplate);
    for (i, (pos, mut fmr)) in capture.fingers.into_iter().enumerate() {
        if malformed && i == 0 {
            fmr.truncate(fmr.len() / 2);
        }
        builder = builder.finger(pos, fmr);
    }
    for &(pos, reason) in &person.missing_fingers {
        builder = builder.missing_finger(pos, reason);
    }
    for (eye, irc) in capture.irises {
        builder = builder.iris(eye, irc);
    }
    for &(eye, reason) in &person.missing_eyes {
        builder = builder.missing_eye(eye, reason);
    }
    let key = if p.case == Plant::Bad(ReasonCode::BadSignature) {
        rogue_key(&p.packet_id)
    } else {
        key
    };
    let Plant::Bad(code) = p.case else {
        return Ok(builder.build(&key)?);
    };
    let mut ms = builder.build_members(&key)?;
    match code {
        ReasonCode::CorruptZip => {
            let mut bytes = zip_members(&ms)?;
            bytes.truncate(bytes.len() * 3 / 5);
            return Ok(bytes);
        }
        ReasonCode::MissingSignature => ms.retain(|m| m.name != members::MANIFEST_SIG),
        ReasonCode::MemberTooLarge => {
            if let Some(photo) = ms.iter_mut().find(|m| m.name == members::PHOTO) {
                photo.bytes.resize(photo.bytes.len() + 6 * 1024 * 1024, 0);
                photo.deflate = true;
            }
        }
        ReasonCode::UnsafePath => ms.push(Member::new(
            "../../tunggal/landing/evil.sh",
            b"#!/bin/sh\necho planted\n".to_vec(),
        )),
        ReasonCode::UnsupportedFormatVersion => {
            let text = String::from_utf8_lossy(&ms[0].bytes).replacen(
                "\"format_version\": \"1\"",
                "\"format_version\": \"2\"",
                1,
            );
            let sig = key.sign(text.as_bytes()).to_bytes().to_vec();
            ms[0].bytes = text.into_bytes();
            ms[1].bytes = sig;
        }
        ReasonCode::HashMismatch => {
            if let Some(m) = ms.iter_mut().find(|m| m.name == members::SIGNATURE_IMAGE) {
                if let Some(last) = m.bytes.last_mut() {
                    *last ^= 0x5A;
                }
            }
        }
        _ => {}
    }
    Ok(zip_members(&ms)?)
}

/// Station id, signing key and operator of a packet's signer.
fn signer(world: &World, p: &PlannedPacket) -> (String, SigningKey, reference::Nik) {
    match p.signer {
        Signer::Registered(i) if i < world.stations.len() => {
            let s = &world.stations[i];
            (
                s.station.station_id.clone(),
                SigningKey::from_bytes(&s.key_seed),
                s.operator,
            )
        }
        Signer::Registered(_) | Signer::Unregistered(_) => {
            let n = match p.signer {
                Signer::Unregistered(n) => n,
                Signer::Registered(_) => 99,
            };
            let id = format!(
                "{}-{}-{n:02}",
                reference::regions::compact_code(&p.site),
                world.tag
            );
            let operator = world.resident_of(p).nik;
            (id.clone(), rogue_key(&id), operator)
        }
    }
}

/// A key no registered station has.
fn rogue_key(label: &str) -> SigningKey {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"tunggal-synth-rogue")
        .chain_update(label.as_bytes())
        .finalize()
        .into();
    SigningKey::from_bytes(&seed)
}

/// Device identifiers of a station's kit (stable per station).
fn devices(station_id: &str) -> Devices {
    let h = Sha256::digest(station_id.as_bytes());
    let serial = |i: usize| format!("{:02X}{:02X}{:02X}", h[i], h[i + 1], h[i + 2]);
    Devices {
        finger_scanner: format!("CROSSMATCH-GUARDIAN-200-{}", serial(0)),
        iris_camera: format!("IRISGUARD-AD100-{}", serial(3)),
        camera: format!("CANON-EOS-1500D-{}", serial(6)),
        signature_pad: format!("WACOM-STU-430-{}", serial(9)),
    }
}
