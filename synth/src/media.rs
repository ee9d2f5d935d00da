//! Small generated images for packets: a 120×160 pass photo (JPEG) of flat shapes and a
//! signature-pad stroke (PNG).
//!
//! The photo follows the card convention of a red background for people born in an odd year
//! and blue for an even year; face shape and skin tone are personal (same for every capture
//! of a person), position and lighting vary per capture. The signature is one person's
//! stroke pattern with per-capture tremor.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Width of the pass photo in pixels.
pub const PHOTO_WIDTH: u32 = 120;
/// Height of the pass photo in pixels.
pub const PHOTO_HEIGHT: u32 = 160;
const SIG_WIDTH: u32 = 200;
const SIG_HEIGHT: u32 = 80;

/// Errors from the image encoders (not expected for in-memory buffers).
pub type MediaError = image::ImageError;

/// A JPEG pass photo of the person with `person_seed`, captured with `capture_seed`.
pub fn photo(person_seed: u64, capture_seed: u64, birth_year: i32) -> Result<Vec<u8>, MediaError> {
    let mut person = ChaCha8Rng::seed_from_u64(person_seed ^ 0x5048_4f54_4f00_0000);
    let mut shot = ChaCha8Rng::seed_from_u64(capture_seed ^ 0x53_484f_5400);
    let background: [u8; 3] = if birth_year % 2 != 0 {
        [200, 30, 35]
    } else {
        [30, 70, 190]
    };
    let tone = person.gen_range(0.55..1.0f32);
    let skin = [
        (230.0 * tone) as u8,
        (180.0 * tone) as u8,
        (140.0 * tone) as u8,
    ];
    let hair = [person.gen_range(10..50u8); 3];
    let shirt = [
        person.gen_range(0..255u8),
        person.gen_range(0..255u8),
        person.gen_range(0..255u8),
    ];
    let face_rx = person.gen_range(24.0..32.0f32);
    let face_ry = person.gen_range(32.0..40.0f32);
    let light = shot.gen_range(0.85..1.1f32);
    let cx = 60.0 + shot.gen_range(-4.0..4.0f32);
    let cy = 70.0 + shot.gen_range(-4.0..4.0f32);

    let mut px = vec![0u8; (PHOTO_WIDTH * PHOTO_HEIGHT * 3) as usize];
    for y in 0..PHOTO_HEIGHT {
        for x in 0..PHOTO_WIDTH {
            let (fx, fy) = (x as f32, y as f32);
            let in_ellipse = |cx: f32, cy: f32, rx: f32, ry: f32| {
                ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2) <= 1.0
            };
            let colour = if in_ellipse(cx, cy, face_rx, face_ry) {
                if fy < cy - face_ry * 0.55 {
                    hair
                } else {
                    skin
                }
            } else if in_ellipse(cx, cy - 6.0, face_rx + 4.0, face_ry + 2.0) && fy < cy {
                hair
            } else if in_ellipse(cx, 175.0, 58.0, 50.0) {
                shirt
            } else {
                background
            };
            let i = ((y * PHOTO_WIDTH + x) * 3) as usize;
            for c in 0..3 {
                px[i + c] = (f32::from(colour[c]) * light).min(255.0) as u8;
            }
        }
    }
    let mut out = Vec::with_capacity(4096);
    JpegEncoder::new_with_quality(&mut out, 80).write_image(
        &px,
        PHOTO_WIDTH,
        PHOTO_HEIGHT,
        ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// A PNG signature of the person with `person_seed`, signed with `capture_seed` tremor.
pub fn signature(person_seed: u64, capture_seed: u64) -> Result<Vec<u8>, MediaError> {
    let mut person = ChaCha8Rng::seed_from_u64(person_seed ^ 0x5349_4700);
    let mut shot = ChaCha8Rng::seed_from_u64(capture_seed ^ 0x5452_454d);
    let waves: Vec<(f32, f32, f32)> = (0..3)
        .map(|_| {
            (
                person.gen_range(0.02..0.12f32),
                person.gen_range(5.0..18.0f32),
                person.gen_range(0.0..std::f32::consts::TAU),
            )
        })
        .collect();
    let slant = person.gen_range(-0.3..0.3f32);
    let mut px = vec![255u8; (SIG_WIDTH * SIG_HEIGHT) as usize];
    let tremor = shot.gen_range(0.0..1.5f32);
    let x_start = 15.0 + shot.gen_range(-5.0..5.0f32);
    let x_end = 185.0 + shot.gen_range(-8.0..5.0f32);
    let mut t = x_start;
    while t < x_end {
        let wobble: f32 = waves
            .iter()
            .map(|(f, a, p)| a * (f * t + p).sin())
            .sum::<f32>();
        let y = 40.0 + wobble * 0.6 + slant * (t - 100.0) * 0.2 + shot.gen_range(-tremor..=tremor);
        for dy in -1..=1 {
            let (xi, yi) = (t as i32, y as i32 + dy);
            if (0..SIG_WIDTH as i32).contains(&xi) && (0..SIG_HEIGHT as i32).contains(&yi) {
                px[(yi as u32 * SIG_WIDTH + xi as u32) as usize] = 20;
            }
        }
        t += 0.5;
    }
    let mut out = Vec::with_capacity(2048);
    PngEncoder::new(&mut out).write_image(&px, SIG_WIDTH, SIG_HEIGHT, ExtendedColorType::L8)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_decode_with_expected_size_and_background() {
        let jpg = photo(1, 2, 1991).unwrap();
        assert!(jpg.starts_with(&[0xFF, 0xD8, 0xFF]));
        let img = image::load_from_memory(&jpg).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (PHOTO_WIDTH, PHOTO_HEIGHT));
        let corner = img.get_pixel(2, 2);
        assert!(corner[0] > corner[2], "odd birth year: red background");
        let blue = image::load_from_memory(&photo(1, 2, 1990).unwrap())
            .unwrap()
            .to_rgb8();
        let c = blue.get_pixel(2, 2);
        assert!(c[2] > c[0], "even birth year: blue background");
        let png = signature(1, 2).unwrap();
        let sig = image::load_from_memory(&png).unwrap().to_luma8();
        assert!(sig.pixels().any(|p| p[0] < 50), "has ink");
        assert_eq!(photo(1, 2, 1991).unwrap(), jpg, "deterministic");
        assert_ne!(signature(1, 3).unwrap(), png, "tremor differs per capture");
    }
}
