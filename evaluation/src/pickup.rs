//! `tunggal eval pickup`: card pickup as a citizen at the counter experiences it.
//!
//! For each card the store's personalization jobs hold whose holder synth can regenerate, a
//! counter device captures the fingers the card names afresh (another day, another device, a
//! plain press: a new [`synth::biometric::Body::capture`] with a seed of its own, at a capture
//! quality drawn with field proportions unless one is asked for) and the pickup check decides
//! with [`personalization_export::verify::decide_pickup`], the very function `tunggal verify`
//! answers with. An `ulangi` (a capture too poor to decide on, or two fingers that disagree:
//! one alone passes, the other does not match) is recaptured and is not an attempt (after
//! [`COUNTER_QUALITY_RECAPTURES`] of them the operator's last try matches a print that is only
//! below the counter's quality and decides on disagreeing fingers, as `tunggal verify
//! --last-try` does); a citizen has up to [`DEFAULT_ATTEMPTS`] attempts. Impostor attempts
//! present another person's fingers (same positions, fresh captures) against a card.
//!
//! Who holds a card comes from synth's truth: card → enrollment id → packet → truth person,
//! whose fingers are regenerated from the batch seed and person index exactly as synth
//! derived them. Twins and family members (whose fingers derive from a relative's) are left
//! out: the truth file does not say which member of a pair is the base person.
//!
//! Measured: FNMR at the first attempt and within the attempts, FMR, counts, `ulangi`
//! recaptures, and the time of one decision (template parsing, quality gate, preparation and
//! comparison; not the process start, file reads or seal check of the `verify` command).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use lake::tables::enrollments::enrollment_id_for;
use lake::Store;
use personalization_export::card::{Card, CardRecord, ChipFinger};
use personalization_export::job::JOBS_PREFIX;
use personalization_export::verify::{decide_pickup, PickupDecision, VerifyOutcome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synth::biometric::{Body, Lineage};
use synth::capture::CaptureQuality;
use synth::truth::ENROLLEES_PREFIX;
use synth::world::derive_seed;

use crate::error::{EvalError, Result};

/// Attempts a citizen gets at the counter before being sent back.
pub const DEFAULT_ATTEMPTS: usize = 3;
/// `ulangi` recaptures allowed within one attempt; past it the attempt fails (the citizen
/// cannot give a capture the gate accepts).
pub const MAX_RECAPTURES: usize = 5;
/// Recaptures asked for a print only below the counter's quality before the operator's last
/// try (`tunggal verify --last-try`), which matches such a print as it is.
pub const COUNTER_QUALITY_RECAPTURES: u64 = 2;
/// Genuine pickups measured by default (the goal: at least 2,000).
pub const DEFAULT_GENUINE: usize = 2_000;
/// Impostor attempts measured by default (the goal: at least 20,000, enough to see
/// FMR 1e-4).
pub const DEFAULT_IMPOSTORS: usize = 20_000;

/// Capture quality of the counter device's impressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickupQuality {
    /// Drawn per capture with the field proportions of [`CaptureQuality::PROPORTIONS`].
    Mixed,
    /// Every capture at this level.
    Fixed(CaptureQuality),
}

/// What `tunggal eval pickup` measures and how.
#[derive(Debug, Clone)]
pub struct PickupOptions {
    /// Genuine pickups (card holders cycle when the store has fewer cards).
    pub genuine: usize,
    /// Impostor attempts.
    pub impostors: usize,
    /// Attempts per genuine pickup.
    pub attempts: usize,
    /// Seed of the pickup captures (enrollment captures are never reused).
    pub seed: u64,
    /// Capture quality at the counter.
    pub quality: PickupQuality,
    /// Target false-match rate the threshold is set for.
    pub target_fmr: f64,
}

impl Default for PickupOptions {
    fn default() -> Self {
        PickupOptions {
            genuine: DEFAULT_GENUINE,
            impostors: DEFAULT_IMPOSTORS,
            attempts: DEFAULT_ATTEMPTS,
            seed: 1,
            quality: PickupQuality::Mixed,
            target_fmr: personalization_export::verify::DEFAULT_TARGET_FMR,
        }
    }
}

/// One live finger of a failed genuine attempt, beside its chip finger: what the matcher
/// owner needs to see why the right person was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerDetail {
    /// ISO finger position.
    pub position: u8,
    /// Minutiae of the chip (enrollment) template.
    pub chip_minutiae: usize,
    /// ISO finger quality of the chip template.
    pub chip_quality: u8,
    /// Minutiae of the live capture.
    pub live_minutiae: usize,
    /// ISO finger quality of the live capture.
    pub live_quality: u8,
    /// Matcher similarity.
    pub similarity: f32,
    /// Its calibrated LLR.
    pub llr: f32,
}

/// A genuine first attempt that ended `gagal`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenuineFailure {
    /// The card's enrollment.
    pub enrollment_id: String,
    /// Synth's case of the enrollment (`unique`, `poor_capture`, `missing_fingers`, …).
    pub case: String,
    /// Capture quality of the failed live captures.
    pub live_quality: CaptureQuality,
    /// Fused LLR against the threshold.
    pub llr: f32,
    /// Whether a later attempt passed.
    pub passed_later: bool,
    /// Per finger.
    pub fingers: Vec<FingerDetail>,
}

/// Counts per capture quality of the first attempt: (pickups, failed first attempts).
pub type ByQuality = BTreeMap<CaptureQuality, (u64, u64)>;

/// The result of `tunggal eval pickup`.
#[derive(Debug, Clone, Default)]
pub struct PickupEval {
    /// Card records found in the store's personalization jobs (distinct enrollments).
    pub cards: usize,
    /// Of those, cards whose holder synth can regenerate (the card holders measured).
    pub holders: usize,
    /// Cards left out: relatives (fingers derived from another person) or no truth row.
    pub cards_left_out: usize,
    /// Distinct persons whose fingers impostor attempts use.
    pub impostor_pool: usize,
    /// Genuine pickups (citizens at the counter).
    pub genuine: u64,
    /// Matched genuine attempts in all (first and later ones).
    pub genuine_attempts: u64,
    /// Pickups whose first attempt did not pass.
    pub first_attempt_failed: u64,
    /// Pickups that did not pass within the attempts.
    pub failed_within: u64,
    /// Attempts allowed per pickup.
    pub attempts: usize,
    /// `ulangi` answers to genuine captures (each followed by a recapture).
    pub genuine_ulangi: u64,
    /// Of [`PickupEval::genuine_ulangi`], those for fingers that disagree.
    pub genuine_disagree: u64,
    /// Genuine attempts that hit [`MAX_RECAPTURES`] without an acceptable capture.
    pub genuine_recapture_exhausted: u64,
    /// Impostor attempts matched.
    pub impostors: u64,
    /// Impostor attempts answered `berhasil`.
    pub false_accepts: u64,
    /// `ulangi` answers to impostor captures.
    pub impostor_ulangi: u64,
    /// Of [`PickupEval::impostor_ulangi`], those for fingers that disagree.
    pub impostor_disagree: u64,
    /// Highest fused LLR of an impostor attempt.
    pub impostor_max_llr: f32,
    /// The decision threshold (fused LLR).
    pub threshold: f32,
    /// The target false-match rate.
    pub target_fmr: f64,
    /// Median time of one decision, ms.
    pub verify_median_ms: f64,
    /// 99th percentile of one decision, ms.
    pub verify_p99_ms: f64,
    /// Slowest decision, ms.
    pub verify_max_ms: f64,
    /// Decisions timed (`ulangi` answers included).
    pub decisions: u64,
    /// First attempts by their capture quality: (pickups, failed).
    pub first_by_quality: ByQuality,
    /// First attempts by the enrollment's synth case: (pickups, failed).
    pub first_by_case: BTreeMap<String, (u64, u64)>,
    /// Every genuine pickup whose first attempt failed, with its fingers.
    pub failures: Vec<GenuineFailure>,
}

impl PickupEval {
    /// False non-match rate of the first attempt.
    pub fn fnmr_first(&self) -> f64 {
        ratio(self.first_attempt_failed, self.genuine)
    }
    /// False non-match rate within [`PickupEval::attempts`] attempts.
    pub fn fnmr_within(&self) -> f64 {
        ratio(self.failed_within, self.genuine)
    }
    /// False-match rate over the impostor attempts.
    pub fn fmr(&self) -> f64 {
        ratio(self.false_accepts, self.impostors)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn quality_name(q: CaptureQuality) -> &'static str {
    match q {
        CaptureQuality::Good => "good",
        CaptureQuality::Fair => "fair",
        CaptureQuality::Poor => "poor",
    }
}

impl std::fmt::Display for PickupEval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |x: f64| format!("{:.2} %", 100.0 * x);
        writeln!(
            f,
            "pickup verification: {} cards, {} holders measured ({} left out), impostor pool {}",
            self.cards, self.holders, self.cards_left_out, self.impostor_pool
        )?;
        let rows = [
            (
                "FNMR, first attempt".to_string(),
                format!(
                    "{} ({} of {})",
                    pct(self.fnmr_first()),
                    self.first_attempt_failed,
                    self.genuine
                ),
            ),
            (
                format!("FNMR, within {} attempts", self.attempts),
                format!(
                    "{} ({} of {})",
                    pct(self.fnmr_within()),
                    self.failed_within,
                    self.genuine
                ),
            ),
            (
                "FMR".to_string(),
                format!(
                    "{:.2e} ({} of {})",
                    self.fmr(),
                    self.false_accepts,
                    self.impostors
                ),
            ),
            (
                "threshold (fused LLR)".to_string(),
                format!("{:.2} (target FMR {})", self.threshold, self.target_fmr),
            ),
            (
                "genuine attempts matched".to_string(),
                self.genuine_attempts.to_string(),
            ),
            (
                "ulangi recaptures".to_string(),
                format!(
                    "{} genuine ({} fingers disagreeing), {} impostor ({}); {} attempts out of \
                     recaptures",
                    self.genuine_ulangi,
                    self.genuine_disagree,
                    self.impostor_ulangi,
                    self.impostor_disagree,
                    self.genuine_recapture_exhausted
                ),
            ),
            (
                "highest impostor LLR".to_string(),
                format!("{:.2}", self.impostor_max_llr),
            ),
            (
                "time per verify".to_string(),
                format!(
                    "median {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} decisions)",
                    self.verify_median_ms, self.verify_p99_ms, self.verify_max_ms, self.decisions
                ),
            ),
        ];
        for (name, value) in rows {
            writeln!(f, "  {name:<28} {value}")?;
        }
        writeln!(f, "  first attempt by capture quality (pickups, failed):")?;
        for (q, (n, failed)) in &self.first_by_quality {
            writeln!(f, "    {:<10} {n:>6} {failed:>6}", quality_name(*q))?;
        }
        writeln!(f, "  first attempt by enrollment case (pickups, failed):")?;
        for (case, (n, failed)) in &self.first_by_case {
            writeln!(f, "    {case:<18} {n:>6} {failed:>6}")?;
        }
        Ok(())
    }
}

/// A card holder synth can regenerate.
struct Holder {
    enrollment_id: String,
    card: Card,
    person: usize,
    case: String,
}

/// The chip fingers the card names, right hand then left.
fn chip_positions(card: &Card) -> [Option<&ChipFinger>; 2] {
    [
        card.chip.right_finger.as_ref(),
        card.chip.left_finger.as_ref(),
    ]
}

/// Live captures of the card's fingers by `body`, in one sitting: (right, left) ISO records
/// (empty for a hand whose chip holds no finger).
fn capture(body: &Body, card: &Card, quality: CaptureQuality, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let chips = chip_positions(card);
    let positions: Vec<u8> = chips.iter().flatten().map(|c| c.position).collect();
    let mut fingers = body.capture(&positions, &[], quality, seed).fingers;
    let mut take = |chip: Option<&ChipFinger>| {
        chip.and_then(|c| {
            let i = fingers.iter().position(|f| f.0 == c.position)?;
            Some(fingers.swap_remove(i).1)
        })
        .unwrap_or_default()
    };
    let right = take(chips[0]);
    let left = take(chips[1]);
    (right, left)
}

/// Counter quality of one capture.
fn draw_quality(quality: PickupQuality, seed: u64) -> CaptureQuality {
    match quality {
        PickupQuality::Fixed(q) => q,
        PickupQuality::Mixed => CaptureQuality::draw(&mut ChaCha8Rng::seed_from_u64(derive_seed(
            seed, "quality", 0,
        ))),
    }
}

/// What one attempt (captures until one is decided, at most [`MAX_RECAPTURES`] recaptures)
/// came to.
struct Attempt {
    /// The matched outcome, `None` when the recaptures ran out.
    outcome: Option<VerifyOutcome>,
    /// Quality of the decided (or last) capture.
    quality: CaptureQuality,
    /// The decided captures (right, left).
    live: (Vec<u8>, Vec<u8>),
    /// `ulangi` answers in this attempt.
    ulangi: u64,
    /// Of them, answers to fingers that disagree.
    disagree: u64,
    /// Time of each decision, ns.
    times: Vec<u64>,
}

fn attempt(
    body: &Body,
    holder: &Holder,
    opts: &PickupOptions,
    label: &str,
    index: u64,
) -> Result<Attempt> {
    let mut ulangi = 0;
    let mut disagree = 0;
    let mut times = Vec::new();
    let mut last = None;
    for recapture in 0..=MAX_RECAPTURES as u64 {
        let seed = derive_seed(opts.seed, label, index << 8 | recapture);
        let quality = draw_quality(opts.quality, seed);
        let (right, left) = capture(body, &holder.card, quality, seed);
        let started = Instant::now();
        let last_try = ulangi >= COUNTER_QUALITY_RECAPTURES;
        let decision = decide_pickup(&holder.card, &right, &left, opts.target_fmr, last_try);
        times.push(started.elapsed().as_nanos() as u64);
        match decision {
            Ok(PickupDecision::Matched(outcome)) => {
                return Ok(Attempt {
                    outcome: Some(outcome),
                    quality,
                    live: (right, left),
                    ulangi,
                    disagree,
                    times,
                });
            }
            Ok(PickupDecision::Recapture(_)) => {
                ulangi += 1;
                last = Some((quality, right, left));
            }
            Ok(PickupDecision::FingersDisagree(_)) => {
                ulangi += 1;
                disagree += 1;
                last = Some((quality, right, left));
            }
            Err(e) => {
                return Err(EvalError::Pickup(format!(
                    "verify refused a synthetic pickup capture for enrollment {}: {e}",
                    holder.enrollment_id
                )));
            }
        }
    }
    let (quality, right, left) = last.unwrap_or((CaptureQuality::Poor, Vec::new(), Vec::new()));
    Ok(Attempt {
        outcome: None,
        quality,
        live: (right, left),
        ulangi,
        disagree,
        times,
    })
}

/// Minutiae count and ISO finger quality of a record's first view.
fn record_summary(bytes: &[u8]) -> (usize, u8) {
    biometrics::iso19794::parse(bytes)
        .ok()
        .and_then(|r| r.views.first().map(|v| (v.minutiae.len(), v.quality)))
        .unwrap_or((0, 0))
}

fn failure(holder: &Holder, a: &Attempt, passed_later: bool) -> GenuineFailure {
    let outcome = a.outcome.as_ref();
    let chips = chip_positions(&holder.card);
    let lives = [&a.live.0, &a.live.1];
    let fingers = chips
        .iter()
        .zip(lives)
        .filter_map(|(chip, live)| {
            let chip = (*chip)?;
            let (chip_minutiae, chip_quality) = record_summary(&chip.iso19794_2);
            let (live_minutiae, live_quality) = record_summary(live);
            let scored =
                outcome.and_then(|o| o.fingers.iter().find(|f| f.position == chip.position));
            Some(FingerDetail {
                position: chip.position,
                chip_minutiae,
                chip_quality,
                live_minutiae,
                live_quality,
                similarity: scored.map_or(0.0, |s| s.similarity),
                llr: scored.map_or(0.0, |s| s.llr),
            })
        })
        .collect();
    GenuineFailure {
        enrollment_id: holder.enrollment_id.clone(),
        case: holder.case.clone(),
        live_quality: a.quality,
        llr: outcome.map_or(f32::NEG_INFINITY, |o| o.llr),
        passed_later,
        fingers,
    }
}

/// The result of one genuine pickup.
struct GenuineRun {
    first_failed: bool,
    passed: bool,
    matched: u64,
    ulangi: u64,
    disagree: u64,
    exhausted: u64,
    first_quality: CaptureQuality,
    case: String,
    times: Vec<u64>,
    failure: Option<GenuineFailure>,
}

fn genuine_pickup(
    bodies: &[Body],
    holder: &Holder,
    opts: &PickupOptions,
    index: u64,
) -> Result<GenuineRun> {
    let body = &bodies[holder.person];
    let mut run = GenuineRun {
        first_failed: true,
        passed: false,
        matched: 0,
        ulangi: 0,
        disagree: 0,
        exhausted: 0,
        first_quality: CaptureQuality::Good,
        case: holder.case.clone(),
        times: Vec::new(),
        failure: None,
    };
    let mut first = None;
    for n in 0..opts.attempts as u64 {
        let a = attempt(body, holder, opts, "pickup-genuine", index << 8 | n)?;
        run.ulangi += a.ulangi;
        run.disagree += a.disagree;
        run.times.extend(&a.times);
        let passed = match &a.outcome {
            Some(o) => {
                run.matched += 1;
                o.passed
            }
            None => {
                run.exhausted += 1;
                false
            }
        };
        if n == 0 {
            run.first_quality = a.quality;
            run.first_failed = !passed;
            if !passed {
                first = Some(a);
            }
        }
        if passed {
            run.passed = true;
            break;
        }
    }
    run.failure = first.map(|a| failure(holder, &a, run.passed));
    Ok(run)
}

/// The result of one impostor attempt.
struct ImpostorRun {
    matched: bool,
    accepted: bool,
    llr: f32,
    ulangi: u64,
    disagree: u64,
    times: Vec<u64>,
}

fn impostor_attempt(
    bodies: &[Body],
    holders: &[Holder],
    opts: &PickupOptions,
    index: u64,
) -> Result<ImpostorRun> {
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(opts.seed, "pickup-impostor-who", index));
    let holder = &holders[(index % holders.len() as u64) as usize];
    // Another person of the pool: never the card holder.
    let mut person = rng.gen_range(0..bodies.len() - 1);
    if person >= holder.person {
        person += 1;
    }
    let a = attempt(&bodies[person], holder, opts, "pickup-impostor", index)?;
    Ok(ImpostorRun {
        matched: a.outcome.is_some(),
        accepted: a.outcome.as_ref().is_some_and(|o| o.passed),
        llr: a.outcome.as_ref().map_or(f32::NEG_INFINITY, |o| o.llr),
        ulangi: a.ulangi,
        disagree: a.disagree,
        times: a.times,
    })
}

/// The batch seed of a batch id (`s<seed>-<start>-d<days>-n<people>-<tag>`) and its tag.
fn batch_seed_and_tag(batch: &str) -> Option<(u64, &str)> {
    let seed = batch.strip_prefix('s')?.split('-').next()?.parse().ok()?;
    let tag = batch.rsplit('-').next()?;
    Some((seed, tag))
}

/// What the truth says: packet id → (person id, case), the persons that are relatives, and
/// the seed of each batch tag.
struct Truth {
    by_enrollment: HashMap<String, (String, String)>,
    relatives: HashSet<String>,
    seeds: HashMap<String, u64>,
    persons: Vec<String>,
}

async fn read_truth(store: &Store) -> Result<Truth> {
    let mut truth = Truth {
        by_enrollment: HashMap::new(),
        relatives: HashSet::new(),
        seeds: HashMap::new(),
        persons: Vec::new(),
    };
    let mut seen = HashSet::new();
    for meta in store.list(ENROLLEES_PREFIX).await? {
        let path = meta.location.to_string();
        let batch = meta
            .location
            .filename()
            .and_then(|f| f.strip_suffix(".csv"))
            .unwrap_or_default();
        if let Some((seed, tag)) = batch_seed_and_tag(batch) {
            truth.seeds.insert(tag.to_string(), seed);
        }
        let bytes = store.get(&path).await?;
        let rows = synth::truth::from_csv(&bytes).map_err(|e| EvalError::Truth {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        for row in rows {
            if row.case.starts_with("bad") {
                continue;
            }
            if row.case == "twin" || row.case == "family" {
                truth.relatives.insert(row.person_id.clone());
            }
            if seen.insert(row.person_id.clone()) {
                truth.persons.push(row.person_id.clone());
            }
            truth
                .by_enrollment
                .insert(enrollment_id_for(&row.packet_id), (row.person_id, row.case));
        }
    }
    Ok(truth)
}

/// The lineage of a truth person of their own (`<tag>-P<index>`), as synth derived it.
fn lineage(truth: &Truth, person_id: &str) -> Option<Lineage> {
    if truth.relatives.contains(person_id) {
        return None;
    }
    let (tag, index) = person_id.rsplit_once("-P")?;
    let seed = *truth.seeds.get(tag)?;
    Some(Lineage::Own {
        seed: derive_seed(seed, "person", index.parse().ok()?),
    })
}

/// Every card record of the store's personalization jobs, one per enrollment.
async fn read_cards(store: &Store) -> Result<Vec<Card>> {
    let mut cards = Vec::new();
    let mut seen = HashSet::new();
    for meta in store.list(JOBS_PREFIX).await? {
        let path = meta.location.to_string();
        if !(path.contains("/cards/") && path.ends_with(".json")) {
            continue;
        }
        let bytes = store.get(&path).await?;
        let record = CardRecord::parse(&bytes)
            .map_err(|e| EvalError::Pickup(format!("card {path}: {e}")))?;
        if seen.insert(record.card.enrollment_id.clone()) {
            cards.push(record.card);
        }
    }
    Ok(cards)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1e6
}

/// Runs the pickup evaluation on the store's cards and synth truth.
pub async fn evaluate(store: &Store, opts: &PickupOptions) -> Result<PickupEval> {
    if !(opts.target_fmr > 0.0 && opts.target_fmr < 1.0) {
        return Err(EvalError::Pickup(
            "the target FMR must be between 0 and 1".into(),
        ));
    }
    if opts.attempts == 0 {
        return Err(EvalError::Pickup("at least one attempt is needed".into()));
    }
    let truth = read_truth(store).await?;
    let cards = read_cards(store).await?;
    let n_cards = cards.len();
    // The impostor pool: every person of their own; card holders index into it.
    let mut pool: Vec<(String, Lineage)> = Vec::new();
    let mut pool_index: HashMap<String, usize> = HashMap::new();
    for person in &truth.persons {
        if let Some(l) = lineage(&truth, person) {
            pool_index.insert(person.clone(), pool.len());
            pool.push((person.clone(), l));
        }
    }
    let mut holders: Vec<Holder> = cards
        .into_iter()
        .filter_map(|card| {
            let (person, case) = truth.by_enrollment.get(&card.enrollment_id)?;
            let person = *pool_index.get(person)?;
            Some(Holder {
                enrollment_id: card.enrollment_id.clone(),
                case: case.clone(),
                person,
                card,
            })
        })
        .filter(|h| chip_positions(&h.card).iter().any(Option::is_some))
        .collect();
    holders.sort_by(|a, b| a.enrollment_id.cmp(&b.enrollment_id));
    if holders.is_empty() {
        return Err(EvalError::NothingToMeasure(format!(
            "no card of the store has a holder synth can regenerate ({n_cards} cards found): run \
             `tunggal synth`, `ingest`, `dedup` and `export` first"
        )));
    }
    if pool.len() < 2 {
        return Err(EvalError::NothingToMeasure(
            "impostor attempts need at least two persons in the synth truth".into(),
        ));
    }
    let bodies: Vec<Body> = pool
        .par_iter()
        .map(|(_, lineage)| Body::of(*lineage))
        .collect();

    let genuine: Vec<GenuineRun> = (0..opts.genuine as u64)
        .into_par_iter()
        .map(|i| {
            genuine_pickup(
                &bodies,
                &holders[(i % holders.len() as u64) as usize],
                opts,
                i,
            )
        })
        .collect::<Result<_>>()?;
    let impostors: Vec<ImpostorRun> = (0..opts.impostors as u64)
        .into_par_iter()
        .map(|i| impostor_attempt(&bodies, &holders, opts, i))
        .collect::<Result<_>>()?;

    let mut ev = PickupEval {
        cards: n_cards,
        holders: holders.len(),
        cards_left_out: n_cards - holders.len(),
        impostor_pool: pool.len(),
        attempts: opts.attempts,
        threshold: biometrics::fusion::llr_threshold_for_fmr(opts.target_fmr),
        target_fmr: opts.target_fmr,
        impostor_max_llr: f32::NEG_INFINITY,
        ..Default::default()
    };
    let mut times: Vec<u64> = Vec::new();
    for run in genuine {
        ev.genuine += 1;
        ev.genuine_attempts += run.matched;
        ev.first_attempt_failed += u64::from(run.first_failed);
        ev.failed_within += u64::from(!run.passed);
        ev.genuine_ulangi += run.ulangi;
        ev.genuine_disagree += run.disagree;
        ev.genuine_recapture_exhausted += run.exhausted;
        let q = ev.first_by_quality.entry(run.first_quality).or_default();
        *q = (q.0 + 1, q.1 + u64::from(run.first_failed));
        let c = ev.first_by_case.entry(run.case).or_default();
        *c = (c.0 + 1, c.1 + u64::from(run.first_failed));
        times.extend(run.times);
        ev.failures.extend(run.failure);
    }
    for run in impostors {
        ev.impostors += u64::from(run.matched);
        ev.false_accepts += u64::from(run.accepted);
        ev.impostor_ulangi += run.ulangi;
        ev.impostor_disagree += run.disagree;
        ev.impostor_max_llr = ev.impostor_max_llr.max(run.llr);
        times.extend(run.times);
    }
    times.sort_unstable();
    ev.decisions = times.len() as u64;
    ev.verify_median_ms = percentile(&times, 0.5);
    ev.verify_p99_ms = percentile(&times, 0.99);
    ev.verify_max_ms = percentile(&times, 1.0);
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids_give_seed_and_tag() {
        assert_eq!(
            batch_seed_and_tag("s42-20261120-d2-n120-abcdef"),
            Some((42, "abcdef"))
        );
        assert_eq!(batch_seed_and_tag("x42"), None);
    }

    #[test]
    fn percentiles_are_in_ms_and_ordered() {
        let sorted: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(percentile(&sorted, 0.5), 51.0);
        assert_eq!(percentile(&sorted, 0.99), 99.0);
        assert_eq!(percentile(&sorted, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
