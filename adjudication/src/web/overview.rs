//! The supervisors' overview (`/overview`): a map of Indonesia with open cases and SLA breaches
//! by province, cases opened and decided per day, and the age of the open queue, each linked
//! to the queue filtered to what it counts. Drawn as SVG on the server: the console has no
//! script.
//!
//! The map is the provinces' boundaries (`reference/data/boundaries/provinces.geojson`, see
//! its licence there) embedded in the binary and projected once, equirectangularly (longitude
//! and latitude as x and y, which is close enough at the equator), with points closer than a
//! pixel dropped, so the page carries about 100 kB of path data.
//!
//! SLA breaches are read from the lake: enrollments whose capture finished more than 24 hours
//! ago and that have no `status_history` row yet (not deduplicated). That is one anti-join
//! over `enrollments` and `status_history` (about a second on a 1M lake), so its result is
//! kept for the console's lake time to live.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use actix_web::web;
use minijinja::context;
use serde::Serialize;

use super::auth::Authenticated;
use super::i18n::PageLang;
use super::pages::{render, Page};
use super::AppState;
use crate::error::{AdjudicationError, Result};
use crate::present::Zone;
use crate::store::overview::{AgeBucket, DayCount};

const PROVINCES_GEOJSON: &str =
    include_str!("../../../reference/data/boundaries/provinces.geojson");

/// Width of the map in SVG units.
pub const MAP_WIDTH: f64 = 1000.0;
/// Days in the opened/decided chart.
pub const DAYS: i64 = 14;
/// Hours after capture by which an enrollment must have its dedup result.
pub const SLA_HOURS: i64 = 24;

/// One province as drawn.
#[derive(Clone, Debug, Serialize)]
pub struct ProvinceShape {
    /// Province code (`PP`).
    pub code: String,
    /// Name.
    pub name: String,
    /// SVG path data.
    pub d: String,
    /// Centre (the boundary file's label point), projected.
    pub cx: f64,
    /// See `cx`.
    pub cy: f64,
}

/// The projected map: its provinces and height.
#[derive(Debug)]
pub struct Map {
    /// Provinces, in the file's order.
    pub provinces: Vec<ProvinceShape>,
    /// Height in SVG units (width is [`MAP_WIDTH`]).
    pub height: f64,
}

/// The provinces' map, projected on first use.
pub fn map() -> &'static Map {
    static MAP: OnceLock<Map> = OnceLock::new();
    MAP.get_or_init(|| project(PROVINCES_GEOJSON).expect("the embedded boundaries parse"))
}

type Ring = Vec<(f64, f64)>;

/// A province as read from the file: code, name, rings, label point (lon, lat).
type Feature = (String, String, Vec<Ring>, (f64, f64));

fn project(geojson: &str) -> std::result::Result<Map, String> {
    let doc: serde_json::Value = serde_json::from_str(geojson).map_err(|e| e.to_string())?;
    let features = doc["features"].as_array().ok_or("no features")?;
    let mut shapes: Vec<Feature> = Vec::new();
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for f in features {
        let props = &f["properties"];
        let code = props["code"]
            .as_str()
            .ok_or("feature without code")?
            .to_string();
        let name = props["name"].as_str().unwrap_or(&code).to_string();
        let mut rings = Vec::new();
        for polygon in f["geometry"]["coordinates"]
            .as_array()
            .ok_or("not a MultiPolygon")?
        {
            for ring in polygon.as_array().ok_or("bad polygon")? {
                let points: Ring = ring
                    .as_array()
                    .ok_or("bad ring")?
                    .iter()
                    .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                    .collect();
                for &(x, y) in &points {
                    min_x = min_x.min(x);
                    max_x = max_x.max(x);
                    min_y = min_y.min(y);
                    max_y = max_y.max(y);
                }
                rings.push(points);
            }
        }
        let label = (
            props["lng"].as_f64().unwrap_or(f64::NAN),
            props["lat"].as_f64().unwrap_or(f64::NAN),
        );
        shapes.push((code, name, rings, label));
    }
    if shapes.is_empty() || max_x <= min_x {
        return Err("empty boundaries".into());
    }
    let scale = MAP_WIDTH / (max_x - min_x);
    let at = |(x, y): (f64, f64)| ((x - min_x) * scale, (max_y - y) * scale);
    let provinces = shapes
        .into_iter()
        .map(|(code, name, rings, label)| {
            let mut d = String::new();
            let projected: Vec<Ring> = rings
                .iter()
                .map(|r| r.iter().copied().map(at).collect())
                .collect();
            // The largest ring always stays, so no province vanishes.
            let largest = projected
                .iter()
                .enumerate()
                .max_by(|a, b| extent(a.1).total_cmp(&extent(b.1)))
                .map(|(i, _)| i);
            for (i, ring) in projected.iter().enumerate() {
                if extent(ring) < 1.5 && Some(i) != largest {
                    continue;
                }
                let mut last: Option<(f64, f64)> = None;
                for &(x, y) in ring {
                    if let Some((lx, ly)) = last {
                        if (x - lx).abs() + (y - ly).abs() < 1.0 {
                            continue;
                        }
                    }
                    d.push(if last.is_none() { 'M' } else { 'L' });
                    d.push_str(&format!("{x:.1} {y:.1}"));
                    last = Some((x, y));
                }
                d.push('Z');
            }
            let (cx, cy) = if label.0.is_finite() && label.1.is_finite() {
                at(label)
            } else {
                projected
                    .get(largest.unwrap_or(0))
                    .and_then(|r| r.first().copied())
                    .unwrap_or((0.0, 0.0))
            };
            ProvinceShape {
                code,
                name,
                d,
                cx: (cx * 10.0).round() / 10.0,
                cy: (cy * 10.0).round() / 10.0,
            }
        })
        .collect();
    Ok(Map {
        provinces,
        height: ((max_y - min_y) * scale).ceil(),
    })
}

/// The larger side of a ring's bounding box.
fn extent(ring: &Ring) -> f64 {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in ring {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    (x1 - x0).max(y1 - y0)
}

/// Fill colours of the map's classes of open cases: none, then five steps of blue.
pub const FILLS: [&str; 6] = [
    "#eeeeee", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c",
];

/// The class (index into [`FILLS`]) of `n` open cases when the largest province has `max`.
fn class_of(n: i64, max: i64) -> usize {
    if n <= 0 || max <= 0 {
        0
    } else {
        (((n * 5 + max - 1) / max) as usize).clamp(1, 5)
    }
}

/// The legend: each class with its range of counts.
fn legend(max: i64) -> Vec<serde_json::Value> {
    let mut out = vec![serde_json::json!({"fill": FILLS[0], "from": 0, "to": 0})];
    let mut from = 1;
    for (k, fill) in FILLS.iter().enumerate().skip(1) {
        let to = (max * k as i64) / 5;
        if to >= from {
            out.push(serde_json::json!({"fill": fill, "from": from, "to": to}));
            from = to + 1;
        }
    }
    out
}

/// A province on the page: its shape, counts and colour.
#[derive(Clone, Debug, Serialize)]
struct MapProvince<'a> {
    #[serde(flatten)]
    shape: &'a ProvinceShape,
    open: i64,
    breaches: i64,
    fill: &'static str,
    /// Radius of the breaches' circle (0: none).
    r: f64,
}

/// A bar of a chart.
#[derive(Clone, Debug, Serialize)]
struct Bar {
    x: f64,
    y: f64,
    h: f64,
    value: i64,
    /// The query of the queue it links to (`/queue?…`).
    query: String,
    label: String,
    /// Past the SLA (age buckets).
    late: bool,
}

/// Enrollments past the SLA without a dedup result, by province (cached per store for the
/// lake's time to live).
async fn breaches(st: &AppState) -> Result<HashMap<String, i64>> {
    type Cached = (Instant, String, HashMap<String, i64>);
    static CACHE: Mutex<Option<Cached>> = Mutex::new(None);
    let key = st.lake.store().url().to_string();
    if let Some((at, k, v)) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        if *k == key && at.elapsed() < st.config.lake_ttl {
            return Ok(v.clone());
        }
    }
    let ctx = st.lake.context().await?;
    let sql = format!(
        "SELECT e.province_code AS province, count(*) AS n
         FROM enrollments e
         WHERE NOT EXISTS (SELECT 1 FROM status_history s WHERE s.enrollment_id = e.enrollment_id) AND e.capture_finished < now() - INTERVAL '{SLA_HOURS} hours'
         GROUP BY e.province_code"
    );
    let mut out = HashMap::new();
    for batch in lake::query::collect(&ctx, &sql).await? {
        let c = lake::tables::read::Columns::new(&batch);
        let (province, n) = (c.text("province")?, c.longs("n")?);
        for r in 0..c.len() {
            out.insert(province.string(r), n.value(r));
        }
    }
    *CACHE.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), key, out.clone()));
    Ok(out)
}

fn day_bars(days: &[DayCount]) -> (Vec<Bar>, Vec<Bar>, i64) {
    let max = days
        .iter()
        .map(|d| d.opened.max(d.decided))
        .max()
        .unwrap_or(0)
        .max(1);
    let (mut opened, mut decided) = (Vec::new(), Vec::new());
    for (i, d) in days.iter().enumerate() {
        let x = 30.0 + i as f64 * 40.0;
        let h = |v: i64| (100.0 * v as f64 / max as f64).round();
        opened.push(Bar {
            x,
            y: 110.0 - h(d.opened),
            h: h(d.opened),
            value: d.opened,
            query: format!("opened={}", d.day),
            label: d.day[5..].to_string(),
            late: false,
        });
        decided.push(Bar {
            x: x + 16.0,
            y: 110.0 - h(d.decided),
            h: h(d.decided),
            value: d.decided,
            query: format!("decided={}", d.day),
            label: d.day[5..].to_string(),
            late: false,
        });
    }
    (opened, decided, max)
}

fn age_bars(buckets: &[AgeBucket]) -> Vec<Bar> {
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let w = (300.0 * b.count as f64 / max as f64).round();
            let mut query = format!("min_age_h={}", b.min_h);
            if let Some(m) = b.max_h {
                query.push_str(&format!("&max_age_h={m}"));
            }
            Bar {
                x: 110.0,
                y: 10.0 + i as f64 * 28.0,
                h: w,
                value: b.count,
                query,
                label: match b.max_h {
                    Some(m) => format!("{}–{m} h", b.min_h),
                    None => format!("≥ {} h", b.min_h),
                },
                late: b.min_h >= SLA_HOURS,
            }
        })
        .collect()
}

/// `GET /overview`, for supervisors.
async fn overview_page(st: web::Data<AppState>, who: Authenticated, lang: PageLang) -> Page {
    if who.session.user.role != crate::auth::Role::Supervisor {
        return Err(AdjudicationError::Forbidden("the overview is for supervisors".into()).into());
    }
    let open: HashMap<String, i64> = st.cases.open_by_province()?.into_iter().collect();
    let breaches = breaches(&st).await?;
    let map = map();
    let max_open = open.values().copied().max().unwrap_or(0);
    let max_breaches = breaches.values().copied().max().unwrap_or(0);
    let provinces: Vec<MapProvince> = map
        .provinces
        .iter()
        .map(|shape| {
            let n = open.get(&shape.code).copied().unwrap_or(0);
            let b = breaches.get(&shape.code).copied().unwrap_or(0);
            MapProvince {
                shape,
                open: n,
                breaches: b,
                fill: FILLS[class_of(n, max_open)],
                r: if b > 0 {
                    (3.0 + 12.0 * (b as f64 / max_breaches.max(1) as f64).sqrt()).round()
                } else {
                    0.0
                },
            }
        })
        .collect();
    let today = chrono::Utc::now()
        .with_timezone(&Zone::DATA_CENTER.offset())
        .date_naive();
    let days = st.cases.per_day(DAYS, today)?;
    let (opened, decided, day_max) = day_bars(&days);
    let ages = age_bars(&st.cases.age_buckets()?);
    let total_open: i64 = open.values().sum();
    let total_breaches: i64 = breaches.values().sum();
    // Provinces with open cases or breaches, most first: the table under the map.
    let mut table: Vec<&MapProvince> = provinces
        .iter()
        .filter(|p| p.open > 0 || p.breaches > 0)
        .collect();
    table.sort_by_key(|p| std::cmp::Reverse((p.open, p.breaches)));
    render(
        &lang,
        "overview.html",
        context! {
            session => who.session,
            map_width => MAP_WIDTH,
            map_height => map.height,
            provinces => provinces,
            table => table,
            legend => legend(max_open),
            opened => opened,
            decided => decided,
            day_max => day_max,
            ages => ages,
            total_open => total_open,
            total_breaches => total_breaches,
            sla_hours => SLA_HOURS,
            zone => Zone::DATA_CENTER.abbreviation(),
        },
    )
}

/// Registers `/overview`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/overview", web::get().to(overview_page));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_has_every_province_projected_inside_its_frame() {
        let m = map();
        assert_eq!(m.provinces.len(), 38);
        assert!(m.height > 300.0 && m.height < 450.0, "{}", m.height);
        let total: usize = m.provinces.iter().map(|p| p.d.len()).sum();
        assert!(total < 200_000, "path data {total} bytes");
        for p in &m.provinces {
            assert!(p.d.starts_with('M') && p.d.ends_with('Z'), "{}", p.code);
            assert!(p.cx >= 0.0 && p.cx <= MAP_WIDTH && p.cy >= 0.0 && p.cy <= m.height);
        }
        // Jakarta (31) lies west of Papua (91) and south of Aceh (11).
        let at = |c: &str| m.provinces.iter().find(|p| p.code == c).unwrap();
        assert!(at("31").cx < at("91").cx);
        assert!(at("31").cy > at("11").cy);
    }

    #[test]
    fn classes_split_the_range_in_five() {
        assert_eq!(class_of(0, 10), 0);
        assert_eq!(class_of(1, 10), 1);
        assert_eq!(class_of(10, 10), 5);
        assert_eq!(class_of(6, 10), 3);
        let l = legend(10);
        assert_eq!(l.len(), 6);
        assert_eq!(l[5]["to"], 10);
        assert_eq!(legend(1).len(), 2);
    }
}
