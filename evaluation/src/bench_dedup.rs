//! `tunggal bench dedup`: the 1:N search at gallery scale, beside brute force measured in the
//! same run.
//!
//! The gallery is synthesized in memory (`synth::biometric::Body` captures, prepared like
//! ingest prepares them, indexed into partitions like a nightly run), optionally cached as
//! partition files so the next run at the same size starts at once. Probes are new persons
//! plus planted mates (re-captures of gallery persons, captured as [`MateMix`] says). Brute force
//! is timed on a sample of pairs and extrapolated to the whole search.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use biometrics::fusion::{compare_persons, llr_threshold_for_fmr, PersonTemplate};
use biometrics::index::{self, Partition, ProbeSet, SearchParams};
use dedup::segments;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synth::biometric::Lineage;
use synth::capture::CaptureQuality;

use crate::error::{EvalError, Result};

/// How planted mates (re-captures of gallery persons) are captured: recall depends on it
/// more than on anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MateMix {
    /// Half fair, half poor captures: the index's worst case, where chance evidence of a
    /// large gallery buries a mate.
    #[default]
    Hard,
    /// The nightly's planted duplicates as `synth` captures them (72 % good, 28 % fair):
    /// what a night of real re-enrollments looks like.
    Nightly,
}

/// What to benchmark.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Gallery persons.
    pub gallery: usize,
    /// Probes searched.
    pub probes: usize,
    /// Share of probes that are re-captures of a gallery person.
    pub mate_rate: f64,
    /// How the planted mates are captured.
    pub mates: MateMix,
    /// Gallery persons per partition.
    pub partition_size: usize,
    /// Probe–member pairs timed by brute force.
    pub brute_pairs: usize,
    /// Seed of the synthetic population.
    pub seed: u64,
    /// Folder where built partitions are cached between runs.
    pub cache: Option<PathBuf>,
    /// Members fully compared per probe (the index's shortlist).
    pub shortlist: usize,
    /// Members behind the shortlist whose irises are checked.
    pub iris_depth: usize,
    /// Sequential test level of the full comparison ([`SearchParams::reject_llr`]).
    pub reject_llr: f32,
    /// Gallery bytes kept in memory ([`Partition::memory_bytes`] of the stored partitions);
    /// the partitions beyond are read from the cache once per search pass, as the nightly
    /// run streams what exceeds its budget. `None`: all in memory.
    pub resident_bytes: Option<usize>,
}

/// The figures of one benchmark run.
#[derive(Clone, Debug, Default)]
pub struct BenchReport {
    /// Gallery persons and partitions.
    pub gallery: usize,
    /// Partitions as built (or cached): what the nightly stores.
    pub partitions: usize,
    /// Partitions the search ran over after the nightly's in-memory merge.
    pub searched_as: usize,
    /// Of the stored partitions, those beyond the memory budget, read once per pass.
    pub streamed: usize,
    /// Time spent reading streamed partitions (not in the search time).
    pub stream_load: Duration,
    /// Gallery persons in the resident partitions.
    pub resident_persons: usize,
    /// Time of that merge.
    pub merge: Duration,
    /// Probes and planted mates among them.
    pub probes: usize,
    /// Planted mates.
    pub mates: usize,
    /// Mates found at or above the decision threshold.
    pub mates_found: usize,
    /// Mates whose direct full comparison with their gallery person reaches the threshold:
    /// what brute force would find; the gap to `mates_found` is the index's recall loss.
    pub mates_matchable: usize,
    /// Of the matchable mates the search missed: how many, and how many of them have irises
    /// whose LLR alone passes the iris check's admission level (missed because they ranked
    /// beyond `iris_depth`; the others had only their fingers to rank by and ranked beyond
    /// the shortlist).
    pub mates_missed_iris_pass: (usize, usize),
    /// Non-mate probes flagged at or above the decision threshold.
    pub false_flags: usize,
    /// Time to build (or load) the gallery.
    pub build: Duration,
    /// Whether the gallery came from the cache.
    pub cached: bool,
    /// Wall time of the search (index + full matching) over all partitions.
    pub search: Duration,
    /// Wall time of the index stage, summed over partitions.
    pub index_time: Duration,
    /// Wall time of decoding and full matching, summed over partitions.
    pub match_time: Duration,
    /// Full person comparisons.
    pub full_comparisons: u64,
    /// Pairs covered.
    pub pairs: u64,
    /// Members behind the shortlist whose irises were checked.
    pub iris_checks: u64,
    /// Postings the index stage visited: all, and those of the iris lookups.
    pub postings: (u64, u64),
    /// Brute force: pairs timed, wall time.
    pub brute_sample: (u64, Duration),
    /// Gallery memory (partitions) in bytes.
    pub gallery_bytes: usize,
    /// Peak resident memory from the end of the gallery build to the end of the search (the
    /// loaded gallery, the probes and the search), bytes.
    pub peak_rss: u64,
    /// Decision threshold used.
    pub threshold: f32,
}

impl BenchReport {
    /// Brute force extrapolated to all pairs.
    pub fn brute_estimate(&self) -> Duration {
        let (n, t) = self.brute_sample;
        if n == 0 {
            return Duration::ZERO;
        }
        t.mul_f64(self.pairs as f64 / n as f64)
    }
}

fn capture(
    lineage: Lineage,
    fingers: u16,
    eyes: [bool; 2],
    q: CaptureQuality,
    seed: u64,
) -> PersonTemplate {
    synth::biometric::person_template(lineage, fingers, eyes, q, seed)
}

fn person_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i as u64).wrapping_add(0x51_0000_0000)
}

fn quality(rng: &mut ChaCha8Rng) -> CaptureQuality {
    match rng.gen_range(0..100) {
        0..70 => CaptureQuality::Good,
        70..95 => CaptureQuality::Fair,
        _ => CaptureQuality::Poor,
    }
}

/// Gallery person `i`: own body, 0-2 fingers missing now and then, both eyes mostly.
fn gallery_person(seed: u64, i: usize) -> PersonTemplate {
    let mut rng = ChaCha8Rng::seed_from_u64(person_seed(seed, i) ^ 0xaa);
    let mut fingers: u16 = 0x3ff;
    if rng.gen_bool(0.05) {
        fingers &= !(1 << rng.gen_range(0..10));
    }
    let eyes = [rng.gen_bool(0.97), rng.gen_bool(0.97)];
    let q = quality(&mut rng);
    capture(
        Lineage::Own {
            seed: person_seed(seed, i),
        },
        fingers,
        eyes,
        q,
        rng.gen(),
    )
}

/// The cache file of partition `k`. Gallery person `i` depends only on the seed and `i`, so
/// a partition is named by its seed, size, number and member count: a larger gallery reuses
/// the full partitions a smaller one built, and measuring 10k, 100k, then 1M builds each
/// person once.
fn cache_file(opts: &BenchOptions, k: usize, members: usize) -> Option<PathBuf> {
    opts.cache.as_ref().map(|d| {
        d.join(format!(
            "gallery-s{}-p{}-{k:05}-m{members}.seg",
            opts.seed, opts.partition_size
        ))
    })
}

/// The gallery as the search takes it: the partitions within the memory budget, and the
/// cache files of those beyond it.
struct Gallery {
    resident: Vec<Partition>,
    /// Groups of cache files, each read and merged once per search pass.
    streamed: Vec<Vec<PathBuf>>,
    /// Stored partitions in all.
    stored: usize,
    cached: bool,
}

/// The cache files of the gallery's partitions with their sizes, built where missing (needs
/// `opts.cache`): what the cluster benchmark copies into a store as stored partitions.
pub(crate) fn cached_files(
    opts: &BenchOptions,
    progress: &dyn Fn(&str),
) -> Result<Vec<(PathBuf, usize)>> {
    let all_streamed = BenchOptions {
        resident_bytes: Some(0),
        ..opts.clone()
    };
    let g = gallery(&all_streamed, progress)?;
    g.streamed
        .into_iter()
        .flatten()
        .map(|f| {
            let len = std::fs::metadata(&f)
                .map_err(|e| EvalError::Bench(format!("cannot read the cache file {f:?}: {e}")))?
                .len() as usize;
            Ok((f, len))
        })
        .collect()
}

/// Builds (or loads from the cache) the gallery partitions, keeping in memory those within
/// `opts.resident_bytes`.
fn gallery(opts: &BenchOptions, progress: &dyn Fn(&str)) -> Result<Gallery> {
    let size = opts.partition_size.max(1);
    let count = opts.gallery.div_ceil(size);
    let budget = opts.resident_bytes.unwrap_or(usize::MAX);
    if opts.resident_bytes.is_some() && opts.cache.is_none() {
        return Err(EvalError::Bench(
            "a memory budget streams partitions from the cache: give --cache".into(),
        ));
    }
    let mut g = Gallery {
        resident: Vec::with_capacity(count),
        streamed: Vec::new(),
        stored: count,
        cached: true,
    };
    // Files of cached partitions to read, with their stored size (the budget's measure).
    let mut files: Vec<(PathBuf, usize)> = Vec::new();
    for k in 0..count {
        let range = k * size..((k + 1) * size).min(opts.gallery);
        let file = cache_file(opts, k, range.len());
        if let Some(len) = file
            .as_ref()
            .and_then(|f| std::fs::metadata(f).ok())
            .map(|m| m.len() as usize)
        {
            files.push((file.expect("a file with metadata"), len));
            continue;
        }
        g.cached = false;
        let members: Vec<(String, PersonTemplate)> = range
            .into_par_iter()
            .map(|i| (format!("g{i}"), gallery_person(opts.seed, i)))
            .collect();
        let p = Partition::build(members);
        progress(&format!(
            "gallery partition {}/{count} built ({} persons)",
            k + 1,
            ((k + 1) * size).min(opts.gallery)
        ));
        match file {
            Some(f) => {
                if let Some(dir) = f.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                let bytes = p.to_bytes();
                std::fs::write(&f, &bytes).map_err(|e| {
                    EvalError::Bench(format!("cannot write the cache file {f:?}: {e}"))
                })?;
                files.push((f, bytes.len()));
            }
            None => g.resident.push(p),
        }
    }
    let (held, streamed) = segments::plan_memory(files, budget);
    for unit in held {
        g.resident.push(segments::merged(read_partitions(&unit)?));
    }
    g.streamed = streamed;
    Ok(g)
}

/// Reads and decodes cached partitions, in order, as many at once as there are threads.
fn read_partitions(files: &[PathBuf]) -> Result<Vec<Partition>> {
    files
        .par_iter()
        .map(|f| {
            let bytes = std::fs::read(f)
                .map_err(|e| EvalError::Bench(format!("cannot read the cache file {f:?}: {e}")))?;
            read_partition(&bytes, Some(f))
        })
        .collect()
}

/// Decodes a cached partition.
fn read_partition(bytes: &[u8], file: Option<&std::path::Path>) -> Result<Partition> {
    Partition::from_bytes(bytes).map_err(|e| EvalError::Partition {
        path: format!("{file:?}"),
        reason: e.to_string(),
    })
}

/// Probes: planted mates (index < mates, re-captures of gallery persons) then new persons.
pub(crate) fn probes(opts: &BenchOptions) -> (Vec<(String, PersonTemplate)>, usize) {
    let mates = ((opts.probes as f64) * opts.mate_rate).round() as usize;
    let list = (0..opts.probes)
        .into_par_iter()
        .map(|j| {
            let mut rng = ChaCha8Rng::seed_from_u64(person_seed(opts.seed, j) ^ 0x5_eed9);
            if j < mates && opts.gallery > 0 {
                let target = rng.gen_range(0..opts.gallery);
                let q = match opts.mates {
                    MateMix::Hard if rng.gen_bool(0.5) => CaptureQuality::Fair,
                    MateMix::Hard => CaptureQuality::Poor,
                    MateMix::Nightly if rng.gen_bool(0.72) => CaptureQuality::Good,
                    MateMix::Nightly => CaptureQuality::Fair,
                };
                let person = capture(
                    Lineage::Own {
                        seed: person_seed(opts.seed, target),
                    },
                    0x3ff,
                    [true, true],
                    q,
                    rng.gen(),
                );
                (format!("m{j}:g{target}"), person)
            } else {
                let person = capture(
                    Lineage::Own {
                        seed: person_seed(opts.seed.wrapping_add(1), opts.gallery + j),
                    },
                    0x3ff,
                    [true, true],
                    quality(&mut rng),
                    rng.gen(),
                );
                (format!("n{j}"), person)
            }
        })
        .collect();
    (list, mates)
}

/// Peak resident set size of this process (Linux), bytes.
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Resets the peak resident set size to the current one (Linux: `clear_refs` 5), so that
/// [`peak_rss`] measures the search alone, not the gallery build before it (which holds a
/// whole partition's decoded templates while indexing them).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs the benchmark; `progress` receives one line per step.
pub fn run(opts: &BenchOptions, progress: &dyn Fn(&str)) -> Result<BenchReport> {
    let t = Instant::now();
    let Gallery {
        resident: parts,
        streamed,
        stored,
        cached,
    } = gallery(opts, progress)?;
    let build = t.elapsed();
    reset_peak_rss();
    let t = Instant::now();
    let parts = segments::merge_groups(parts, segments::MERGED_PARTITION_BYTES);
    let merge = t.elapsed();
    let streamed_parts: usize = streamed.iter().map(Vec::len).sum();
    progress(&format!(
        "{stored} partitions: {streamed_parts} streamed (read and merged into {} once per pass), \
         the others merged into {}",
        streamed.len(),
        parts.len()
    ));
    let (probe_list, mates) = probes(opts);
    let probe_set = ProbeSet::build(probe_list);
    progress(&format!("{} probes prepared", probe_set.len()));
    let threshold = llr_threshold_for_fmr(1e-4 / opts.gallery.max(1) as f64);
    let params = SearchParams {
        min_llr: threshold,
        shortlist: opts.shortlist,
        iris_depth: opts.iris_depth,
        reject_llr: opts.reject_llr,
        ..SearchParams::default()
    };

    let mut report = BenchReport {
        gallery: opts.gallery,
        partitions: stored,
        searched_as: parts.len() + streamed.len(),
        streamed: streamed_parts,
        merge,
        probes: probe_set.len(),
        mates,
        build,
        cached,
        threshold,
        gallery_bytes: parts.iter().map(|p| p.memory_bytes()).sum(),
        resident_persons: parts.iter().map(Partition::len).sum(),
        ..Default::default()
    };
    // The nightly's two passes: streamed partitions are read once for the ranking and once
    // for the full comparison; their reading is timed apart from the search.
    let t = Instant::now();
    let read = |group: &[PathBuf], load: &mut Duration| -> Result<Partition> {
        let t = Instant::now();
        let p = segments::merged(read_partitions(group)?);
        *load += t.elapsed();
        Ok(p)
    };
    let mut load = Duration::ZERO;
    let mut ranking = index::Ranking::new(&probe_set, &params);
    for (k, f) in streamed.iter().enumerate() {
        ranking.add(&read(f, &mut load)?, k);
    }
    for (k, p) in parts.iter().enumerate() {
        ranking.add(p, streamed.len() + k);
    }
    let mut selection = ranking.select();
    let mut hits: Vec<(String, String)> = Vec::new();
    let mut found = |p: &Partition, cands: Vec<index::Candidate>| {
        hits.extend(cands.into_iter().map(|c| {
            (
                probe_set.enrollment_id(c.probe).to_string(),
                p.enrollment_id(c.member).to_string(),
            )
        }))
    };
    for (k, f) in streamed.iter().enumerate() {
        let p = read(f, &mut load)?;
        found(&p, selection.compare(&p, k));
    }
    for (k, p) in parts.iter().enumerate() {
        found(p, selection.compare(p, streamed.len() + k));
    }
    let stats = selection.stats();
    report.full_comparisons = stats.full_comparisons;
    report.pairs = stats.pairs;
    report.iris_checks = stats.iris_checks;
    report.postings = (stats.index_work, stats.iris_work);
    report.index_time = Duration::from_nanos(stats.index_ns);
    report.match_time = Duration::from_nanos(stats.match_ns);
    report.search = t.elapsed().saturating_sub(load);
    report.stream_load = load;
    report.peak_rss = peak_rss();
    for j in 0..probe_set.len() {
        let id = probe_set.enrollment_id(j as u32);
        if let Some((_, target)) = id.split_once(':') {
            let g: usize = target.trim_start_matches('g').parse().unwrap_or(0);
            let direct = compare_persons(
                probe_set.person(j as u32),
                &gallery_person(opts.seed, g),
                &params.fusion,
            );
            report.mates_matchable += (direct.llr >= threshold) as usize;
            let mine = hits.iter().any(|h| h.0 == id && h.1 == target);
            report.mates_found += mine as usize;
            if !mine && direct.llr >= threshold {
                let iris: f32 = direct
                    .parts
                    .iter()
                    .filter(|m| matches!(m.what, biometrics::fusion::Modality::Iris(_)))
                    .map(|m| m.llr)
                    .sum();
                report.mates_missed_iris_pass.0 += 1;
                report.mates_missed_iris_pass.1 += (iris >= params.iris_admit_llr) as usize;
            }
        } else {
            report.false_flags += hits.iter().any(|h| h.0 == id) as usize;
        }
    }

    // Brute force on a sample: the first probes against the first members of the first
    // partition. Many probes per member, as brute force over the whole gallery would compare
    // each member (rebuilt once) with every probe; at least 20 members, so one odd member
    // does not decide the rate.
    if let Some(first) = parts.first() {
        let n_probes = probe_set.len().max(1);
        let members = (opts.brute_pairs / n_probes)
            .max(20)
            .min(first.len())
            .max(1);
        let sample_probes = (opts.brute_pairs / members).clamp(1, n_probes);
        let ids: Vec<(String, PersonTemplate)> = (0..sample_probes.min(probe_set.len()))
            .map(|j| {
                (
                    probe_set.enrollment_id(j as u32).to_string(),
                    probe_set.person(j as u32).clone(),
                )
            })
            .collect();
        if !ids.is_empty() {
            let sample = ProbeSet::build(ids);
            let t = Instant::now();
            let (_, stats) = index::search_brute_first(&sample, first, members, &params);
            report.brute_sample = (stats.pairs, t.elapsed());
        }
    }
    Ok(report)
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = |d: Duration| d.as_secs_f64();
        let brute = self.brute_estimate();
        writeln!(
            f,
            "bench dedup: gallery {} in {} partitions (searched as {}), {} probes ({} planted \
             mates), {} threads",
            self.gallery,
            self.partitions,
            self.searched_as,
            self.probes,
            self.mates,
            rayon::current_num_threads()
        )?;
        writeln!(f, "| measure | value |")?;
        writeln!(f, "| --- | --- |")?;
        writeln!(
            f,
            "| gallery build (synth, prepare, index){} | {:.1} s |",
            if self.cached { " — from cache" } else { "" },
            secs(self.build)
        )?;
        writeln!(
            f,
            "| merge of the partitions in memory | {:.1} s |",
            secs(self.merge)
        )?;
        writeln!(
            f,
            "| search wall time (index + full match) | {:.1} s |",
            secs(self.search)
        )?;
        writeln!(
            f,
            "| probes per second | {:.1} |",
            self.probes as f64 / secs(self.search).max(1e-9)
        )?;
        if self.streamed > 0 {
            writeln!(
                f,
                "| partitions beyond the memory budget, read and merged once per pass | {} ({:.1} s of reading and merging, not in the search time) |",
                self.streamed,
                secs(self.stream_load)
            )?;
        }
        writeln!(
            f,
            "| of which index stage / full match | {:.1} s / {:.1} s |",
            secs(self.index_time),
            secs(self.match_time)
        )?;
        writeln!(
            f,
            "| full comparisons | {} ({:.0}/s wall) |",
            self.full_comparisons,
            self.full_comparisons as f64 / secs(self.search).max(1e-9)
        )?;
        let per_probe = |n: u64| n as f64 / self.probes.max(1) as f64;
        writeln!(
            f,
            "| postings visited per probe (fingers / irises) | {:.0} / {:.0} |",
            per_probe(self.postings.0 - self.postings.1),
            per_probe(self.postings.1)
        )?;
        writeln!(
            f,
            "| iris checks behind the shortlist | {} ({:.0} per probe) |",
            self.iris_checks,
            self.iris_checks as f64 / self.probes.max(1) as f64
        )?;
        writeln!(
            f,
            "| penetration (pairs fully compared) | {:.4} % of {} |",
            100.0 * self.full_comparisons as f64 / (self.pairs.max(1)) as f64,
            self.pairs
        )?;
        writeln!(
            f,
            "| brute force, measured | {} pairs in {:.1} s ({:.0} pairs/s) |",
            self.brute_sample.0,
            secs(self.brute_sample.1),
            self.brute_sample.0 as f64 / secs(self.brute_sample.1).max(1e-9)
        )?;
        writeln!(
            f,
            "| brute force, extrapolated to all pairs | {:.0} s = {:.1} x the index search |",
            secs(brute),
            secs(brute) / secs(self.search).max(1e-9)
        )?;
        writeln!(
            f,
            "| planted mates found (llr >= {:.1}) | {} of {} ({} reach it by direct comparison) |",
            self.threshold, self.mates_found, self.mates, self.mates_matchable
        )?;
        writeln!(
            f,
            "| matchable mates missed / of them with irises passing the iris check | {} / {} |",
            self.mates_missed_iris_pass.0, self.mates_missed_iris_pass.1
        )?;
        writeln!(
            f,
            "| new persons falsely flagged | {} of {} |",
            self.false_flags,
            self.probes - self.mates
        )?;
        writeln!(
            f,
            "| gallery memory (resident partitions) | {:.1} MiB ({:.0} B per person) |",
            self.gallery_bytes as f64 / (1 << 20) as f64,
            self.gallery_bytes as f64 / self.resident_persons.max(1) as f64
        )?;
        write!(
            f,
            "| peak resident memory (loaded gallery, probes, search) | {:.2} GiB |",
            self.peak_rss as f64 / (1u64 << 30) as f64
        )
    }
}
