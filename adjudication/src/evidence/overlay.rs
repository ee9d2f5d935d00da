//! The minutiae overlay of one finger pair as an SVG drawing: both templates side by side,
//! the matcher's paired minutiae joined.
//!
//! The one idea to hold in mind: the drawing holds only numbers and escaped labels, so the
//! case page embeds it as is.

use std::fmt::Write as _;

use biometrics::finger;
use biometrics::iso19794::FingerView;

/// Panel size of one finger in the overlay, in SVG units.
const PANEL_W: f32 = 260.0;
const PANEL_H: f32 = 320.0;
const GAP: f32 = 60.0;

/// Draws two finger views side by side: every minutia as a dot with a direction tick (grey),
/// paired minutiae in colour, each pair joined by a line whose opacity follows its
/// contribution to the score.
pub fn overlay_svg(
    a: &(FingerView, u16, u16),
    b: &(FingerView, u16, u16),
    explanation: &finger::FingerExplanation,
    label_a: &str,
    label_b: &str,
) -> String {
    let place = |view: &(FingerView, u16, u16), dx: f32| {
        // Some records place minutiae beyond their declared image size: fit both.
        let max_x = view.0.minutiae.iter().map(|m| m.x).max().unwrap_or(0);
        let max_y = view.0.minutiae.iter().map(|m| m.y).max().unwrap_or(0);
        let w = view.1.max(max_x.saturating_add(8)).max(1) as f32;
        let h = view.2.max(max_y.saturating_add(8)).max(1) as f32;
        let scale = (PANEL_W / w).min(PANEL_H / h);
        move |x: u16, y: u16| (dx + x as f32 * scale, 20.0 + y as f32 * scale)
    };
    let pa = place(a, 0.0);
    let pb = place(b, PANEL_W + GAP);
    let total_w = 2.0 * PANEL_W + GAP;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="overlay" viewBox="0 0 {total_w} {h}" width="{total_w}" height="{h}" role="img" aria-label="minutiae overlay">"##,
        h = PANEL_H + 30.0
    );
    let _ = write!(
        svg,
        r##"<rect x="0" y="20" width="{PANEL_W}" height="{PANEL_H}" fill="#fafafa" stroke="#ccc"/><rect x="{bx}" y="20" width="{PANEL_W}" height="{PANEL_H}" fill="#fafafa" stroke="#ccc"/><text x="4" y="14" font-size="12">{label_a}</text><text x="{tx}" y="14" font-size="12">{label_b}</text>"##,
        bx = PANEL_W + GAP,
        tx = PANEL_W + GAP + 4.0,
        label_a = escape(label_a),
        label_b = escape(label_b),
    );
    let max_c = explanation
        .pairs
        .iter()
        .map(|p| p.contribution)
        .fold(f32::EPSILON, f32::max);
    let paired_a: std::collections::HashSet<usize> =
        explanation.pairs.iter().map(|p| p.a).collect();
    let paired_b: std::collections::HashSet<usize> =
        explanation.pairs.iter().map(|p| p.b).collect();
    let draw = |svg: &mut String,
                view: &FingerView,
                place: &dyn Fn(u16, u16) -> (f32, f32),
                paired: &std::collections::HashSet<usize>| {
        for (i, m) in view.minutiae.iter().enumerate() {
            let (x, y) = place(m.x, m.y);
            let theta = m.angle as f32 * std::f32::consts::TAU / 256.0;
            let (tx, ty) = (x + 8.0 * theta.cos(), y - 8.0 * theta.sin());
            let colour = if paired.contains(&i) {
                "#c0392b"
            } else {
                "#999"
            };
            let _ = write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="none" stroke="{colour}"/><line x1="{x:.1}" y1="{y:.1}" x2="{tx:.1}" y2="{ty:.1}" stroke="{colour}"/>"##
            );
        }
    };
    draw(&mut svg, &a.0, &pa, &paired_a);
    draw(&mut svg, &b.0, &pb, &paired_b);
    for p in &explanation.pairs {
        let (Some(ma), Some(mb)) = (a.0.minutiae.get(p.a), b.0.minutiae.get(p.b)) else {
            continue;
        };
        let (x1, y1) = pa(ma.x, ma.y);
        let (x2, y2) = pb(mb.x, mb.y);
        let opacity = 0.25 + 0.75 * (p.contribution / max_c).clamp(0.0, 1.0);
        let _ = write!(
            svg,
            r##"<line class="pair" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#2471a3" stroke-width="1" stroke-opacity="{opacity:.2}"/>"##
        );
    }
    svg.push_str("</svg>");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
