//! The 1:N index's contracts on small random galleries: persisted form round trip and
//! corruption handling, mates found, within-batch pairs once each, determinism across
//! thread counts, and agreement with brute force on what it returns.

use biometrics::finger::FingerTemplate;
use biometrics::fusion::{
    compare_persons, compare_persons_above, compare_persons_sequential, Fusion, PersonTemplate,
    PersonView,
};
use biometrics::index::{
    candidate_votes, compare_chosen, search, search_brute, search_many, search_within, Candidate,
    IndexConfig, Partition, ProbeSet, Ranked, Ranking, Samples, SearchParams, UnitPass,
};
use biometrics::iris::{Eye, IrisCode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Minutiae `(x, y, direction, kind)` in the stored quanta (¼ px, 2π/65536).
type Minutiae = Vec<(i16, i16, u16, u8)>;

fn tft(m: &Minutiae) -> FingerTemplate {
    let mut b = b"TFT\x01".to_vec();
    b.extend_from_slice(&(m.len() as u16).to_le_bytes());
    for &(x, y, t, k) in m {
        b.extend_from_slice(&x.to_le_bytes());
        b.extend_from_slice(&y.to_le_bytes());
        b.extend_from_slice(&t.to_le_bytes());
        b.push(k);
    }
    FingerTemplate::from_bytes(&b).expect("valid stored template")
}

/// A random "true" person: ten minutiae sets and two iris codes.
struct Truth {
    fingers: Vec<Minutiae>,
    irises: [IrisCode; 2],
}

fn truth(rng: &mut ChaCha8Rng) -> Truth {
    let fingers = (0..10)
        .map(|_| {
            (0..rng.gen_range(28..40))
                .map(|_| {
                    (
                        rng.gen_range(0..1200),
                        rng.gen_range(-1600..0),
                        rng.gen(),
                        rng.gen_range(1..=2),
                    )
                })
                .collect()
        })
        .collect();
    let iris = |eye, rng: &mut ChaCha8Rng| IrisCode {
        eye,
        quality: 80,
        code: std::array::from_fn(|_| rng.gen()),
        mask: [u64::MAX; 32],
    };
    Truth {
        fingers,
        irises: [iris(Eye::Right, rng), iris(Eye::Left, rng)],
    }
}

/// A capture: minutiae jittered by a few pixels, some dropped, iris bits flipped; fingers in
/// `missing` (bits) and irises when `no_iris` left out.
fn capture(t: &Truth, rng: &mut ChaCha8Rng, missing: u16, no_iris: bool) -> PersonTemplate {
    let mut p = PersonTemplate::default();
    for (i, m) in t.fingers.iter().enumerate() {
        if missing >> i & 1 == 1 {
            continue;
        }
        let mut noisy: Minutiae = Vec::new();
        for &(x, y, d, k) in m {
            if rng.gen_bool(0.9) {
                noisy.push((
                    x + rng.gen_range(-8..=8),
                    y + rng.gen_range(-8..=8),
                    d.wrapping_add(rng.gen_range(0..1200)).wrapping_sub(600),
                    k,
                ));
            }
        }
        p.fingers[i] = Some(tft(&noisy));
    }
    if !no_iris {
        for (e, code) in t.irises.iter().enumerate() {
            let mut c = code.clone();
            for w in c.code.iter_mut() {
                for _ in 0..6 {
                    *w ^= 1 << rng.gen_range(0..64);
                }
            }
            p.irises[e] = Some(c);
        }
    }
    p
}

struct World {
    gallery: Vec<(String, PersonTemplate)>,
    probes: Vec<(String, PersonTemplate)>,
    /// (probe, gallery member) planted mates.
    mates: Vec<(u32, u32)>,
}

fn world(seed: u64, n: usize, mates: usize, strangers: usize) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let truths: Vec<Truth> = (0..n).map(|_| truth(&mut rng)).collect();
    let gallery = truths
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("g{i}"), capture(t, &mut rng, 0, false)))
        .collect();
    let mut probes = Vec::new();
    let mut planted = Vec::new();
    for k in 0..mates {
        let m = rng.gen_range(0..n);
        // Every third mate without irises, every other one with four fingers missing.
        let missing = if k % 2 == 0 { 0b10_0110_0001 } else { 0 };
        probes.push((
            format!("m{k}"),
            capture(&truths[m], &mut rng, missing, k % 3 == 0),
        ));
        planted.push((k as u32, m as u32));
    }
    for k in 0..strangers {
        let t = truth(&mut rng);
        probes.push((format!("s{k}"), capture(&t, &mut rng, 0, false)));
    }
    World {
        gallery,
        probes,
        mates: planted,
    }
}

fn params() -> SearchParams {
    SearchParams {
        shortlist: 8,
        ..SearchParams::default()
    }
}

fn pairs(c: &[Candidate]) -> Vec<(u32, u32)> {
    c.iter().map(|c| (c.probe, c.member)).collect()
}

#[test]
fn persisted_form_round_trips() {
    let w = world(1, 40, 0, 0);
    let p = Partition::build(w.gallery);
    let bytes = p.to_bytes();
    let back = Partition::from_bytes(&bytes).expect("round trip");
    assert_eq!(back, p);
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.enrollment_id(7), "g7");
    assert_eq!(back.len(), 40);
    assert!(back.memory_bytes() > 0);
    let empty = Partition::build(Vec::new());
    assert!(empty.is_empty());
    assert_eq!(Partition::from_bytes(&empty.to_bytes()).unwrap(), empty);
}

#[test]
fn corrupted_bytes_are_an_error_not_a_panic() {
    let w = world(2, 12, 0, 0);
    let bytes = Partition::build(w.gallery).to_bytes();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..300 {
        let mut b = bytes.clone();
        let i = rng.gen_range(0..b.len());
        b[i] ^= 1 << rng.gen_range(0..8);
        assert!(Partition::from_bytes(&b).is_err(), "flip at {i} accepted");
    }
    for len in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        assert!(
            Partition::from_bytes(&bytes[..len]).is_err(),
            "truncated {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Partition::from_bytes(&longer).is_err());
    assert!(Partition::from_bytes(b"XXXX").is_err());
}

#[test]
fn finds_planted_mates_at_low_penetration_and_agrees_with_brute_force() {
    let w = world(4, 300, 12, 8);
    let part = Partition::build(w.gallery);
    let probes = ProbeSet::build(w.probes);
    let p = params();
    let (found, stats) = search(&probes, &part, &p);
    let (all, brute_stats) = search_brute(&probes, &part, &p);
    for m in &w.mates {
        assert!(pairs(&found).contains(m), "mate {m:?} not found");
    }
    // Everything the index returns, brute force returns with the same score.
    for c in &found {
        assert!(
            all.contains(c),
            "{:?} not in brute force",
            (c.probe, c.member)
        );
    }
    assert_eq!(pairs(&all), pairs(&found), "brute force finds nothing more");
    assert!(stats.penetration() < 0.05, "{}", stats.penetration());
    assert_eq!(brute_stats.penetration(), 1.0);
    // Sorted by probe, then LLR descending.
    assert!(found.windows(2).all(|w| w[0].probe < w[1].probe
        || (w[0].probe == w[1].probe && w[0].score.llr >= w[1].score.llr)));
}

#[test]
fn within_batch_pairs_come_once_with_probe_below_member() {
    // The probes: each person twice (both captures in the same night) plus strangers.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let truths: Vec<Truth> = (0..30).map(|_| truth(&mut rng)).collect();
    let mut batch = Vec::new();
    for (i, t) in truths.iter().enumerate() {
        batch.push((format!("a{i}"), capture(t, &mut rng, 0, i % 4 == 0)));
    }
    for (i, t) in truths.iter().enumerate().take(10) {
        batch.push((format!("b{i}"), capture(t, &mut rng, 0b11, false)));
    }
    let probes = ProbeSet::build(batch);
    let (found, stats) = search_within(&probes, &params());
    let mut got = pairs(&found);
    assert!(got.iter().all(|&(a, b)| a < b));
    got.sort_unstable();
    let n = got.len();
    got.dedup();
    assert_eq!(got.len(), n, "a pair came twice");
    let want: Vec<(u32, u32)> = (0..10).map(|i| (i, 30 + i)).collect();
    assert_eq!(got, want);
    assert!(stats.penetration() < 0.5);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let w = world(6, 200, 10, 10);
    let part = Partition::build(w.gallery.clone());
    let probes = ProbeSet::build(w.probes.clone());
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let part = Partition::build(w.gallery.clone());
            let probes = ProbeSet::build(w.probes.clone());
            (
                part.to_bytes(),
                search(&probes, &part, &params()).0,
                search_within(&probes, &params()).0,
            )
        })
    };
    let one = run(1);
    let three = run(3);
    assert_eq!(one.0, three.0);
    assert_eq!(one.0, part.to_bytes());
    assert_eq!(one.1, three.1);
    assert_eq!(one.2, three.2);
    assert_eq!(search(&probes, &part, &params()).0, one.1);
}

#[test]
fn merged_partitions_equal_one_built_from_all_their_members() {
    // Parts of 40 keep every list (the cap is at least 64), so the merge has to reproduce
    // the single build exactly: ids, templates, irises and every posting.
    let w = world(7, 120, 6, 4);
    let whole = Partition::build(w.gallery.clone());
    let parts: Vec<Partition> = w
        .gallery
        .chunks(40)
        .map(|c| Partition::build(c.to_vec()))
        .collect();
    let merged = Partition::merge(parts);
    assert_eq!(merged.len(), 120);
    assert_eq!(merged.enrollment_id(85), "g85");
    assert_eq!(merged, whole);
    assert_eq!(merged.to_bytes(), whole.to_bytes());
    let probes = ProbeSet::build(w.probes);
    let (found, _) = search(&probes, &merged, &params());
    for m in &w.mates {
        assert!(
            pairs(&found).contains(m),
            "mate {m:?} not found after merging"
        );
    }
}

#[test]
fn the_pruned_comparison_keeps_exactly_the_pairs_at_or_above_the_threshold() {
    // Two captures of each person: some with fingers missing or without irises, and every
    // fourth with only fingers 2 and 7, labels swapped (the cross-position check decides
    // those).
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let truths: Vec<Truth> = (0..12).map(|_| truth(&mut rng)).collect();
    let mut people = Vec::new();
    for (i, t) in truths.iter().enumerate() {
        people.push(capture(t, &mut rng, 0, false));
        let second = if i % 4 == 1 {
            let mut p = capture(t, &mut rng, 0x3ff & !0b100_0010, true);
            p.fingers.swap(1, 6);
            p
        } else {
            let missing = [0u16, 0b10_0110_0001, 0b11_1111_0000][i % 3];
            capture(t, &mut rng, missing, i % 2 == 0)
        };
        people.push(second);
    }
    let f = Fusion::default();
    let (mut kept, mut dropped, mut swapped) = (0, 0, 0);
    for a in &people {
        for b in &people {
            let full = compare_persons(a, b, &f);
            swapped += usize::from(full.swapped.is_some());
            for t in [-30.0, -5.0, 0.0, 10.0, 20.7, 35.0, 60.0] {
                let pruned = compare_persons_above(a, b, &f, t);
                if full.llr >= t {
                    assert_eq!(pruned.as_ref(), Some(&full), "threshold {t}");
                    kept += 1;
                } else {
                    assert!(pruned.is_none(), "threshold {t}: {full:?}");
                    dropped += 1;
                }
            }
        }
    }
    assert!(
        kept > 100 && dropped > 100,
        "{kept} kept, {dropped} dropped"
    );
    assert!(
        swapped >= 3,
        "the swap hypotheses were exercised {swapped} times"
    );

    // Through a partition, whose members' fingers are rebuilt only as far as a comparison
    // reaches: brute force returns exactly the pairs whose full score reaches the threshold.
    let gallery: Vec<(String, PersonTemplate)> = people
        .iter()
        .step_by(2)
        .enumerate()
        .map(|(i, p)| (format!("g{i}"), p.clone()))
        .collect();
    let probes: Vec<(String, PersonTemplate)> = people
        .iter()
        .skip(1)
        .step_by(2)
        .enumerate()
        .map(|(i, p)| (format!("p{i}"), p.clone()))
        .collect();
    let part = Partition::build(gallery.clone());
    let probe_set = ProbeSet::build(probes.clone());
    for t in [0.0, 20.7] {
        let p = SearchParams {
            min_llr: t,
            reject_llr: f32::NEG_INFINITY,
            ..params()
        };
        let (found, _) = search_brute(&probe_set, &part, &p);
        let mut got: Vec<(u32, u32, f32)> = found
            .iter()
            .map(|c| (c.probe, c.member, c.score.llr))
            .collect();
        got.sort_by_key(|c| (c.0, c.1));
        let mut want = Vec::new();
        for (pi, (_, a)) in probes.iter().enumerate() {
            for (mi, (_, b)) in gallery.iter().enumerate() {
                let s = compare_persons(a, b, &f);
                if s.llr >= t {
                    want.push((pi as u32, mi as u32, s.llr));
                }
            }
        }
        assert!(!want.is_empty());
        assert_eq!(got, want, "threshold {t}");
    }
}

#[test]
fn the_iris_check_finds_mates_the_finger_index_ranks_low() {
    // An index without iris keys, and mates whose three captured fingers are someone
    // else's (the worst finger capture): their evidence is chance, so a shortlist of 2 out
    // of 200 misses most of them, while their irises are theirs.
    let config = IndexConfig {
        iris_spaces: 0,
        ..IndexConfig::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let truths: Vec<Truth> = (0..200).map(|_| truth(&mut rng)).collect();
    let gallery: Vec<(String, PersonTemplate)> = truths
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("g{i}"), capture(t, &mut rng, 0, false)))
        .collect();
    let mut probes = Vec::new();
    let mut mates = Vec::new();
    for k in 0..12u32 {
        let m = rng.gen_range(0..200u32);
        let own = capture(&truths[m as usize], &mut rng, 0, false);
        let other = capture(&truth(&mut rng), &mut rng, 0b11_1111_1000, true);
        probes.push((
            format!("m{k}"),
            PersonTemplate {
                fingers: other.fingers,
                irises: own.irises,
            },
        ));
        mates.push((k, m));
    }
    for k in 0..8 {
        let t = truth(&mut rng);
        probes.push((format!("s{k}"), capture(&t, &mut rng, 0, false)));
    }
    let part = Partition::build_with(gallery, &config);
    let probes = ProbeSet::build_with(probes, &config);
    let with = |iris_depth| SearchParams {
        shortlist: 2,
        iris_depth,
        ..SearchParams::default()
    };
    let (found, stats) = search(&probes, &part, &with(1_000));
    let (plain, plain_stats) = search(&probes, &part, &with(0));
    let hit: Vec<(u32, u32)> = mates
        .iter()
        .copied()
        .filter(|&(p, m)| candidate_votes(&probes, p, &part).iter().any(|v| v.0 == m))
        .collect();
    assert!(hit.len() >= 6, "too few mates hit by chance: {hit:?}");
    for m in &hit {
        assert!(
            pairs(&found).contains(m),
            "mate {m:?} not found by its irises"
        );
    }
    let missed_plain = hit.iter().filter(|m| !pairs(&plain).contains(m)).count();
    assert!(
        missed_plain >= 3,
        "the test needs mates outside the shortlist"
    );
    assert!(stats.iris_checks > 0 && plain_stats.iris_checks == 0);
    // The check admits the mates, not strangers: nothing but mates is returned.
    assert!(
        pairs(&found).iter().all(|c| mates.contains(c)),
        "{:?}",
        pairs(&found)
    );
    assert!(stats.full_comparisons < plain_stats.full_comparisons + 2 * hit.len() as u64);
}

/// A person whose fingers count how often a comparison reads them (a gallery member's
/// fingers are rebuilt on first read: what the sequential test spares).
struct Counting<'a> {
    person: &'a PersonTemplate,
    reads: std::cell::Cell<u32>,
}

impl PersonView for Counting<'_> {
    fn finger(&self, position: u8) -> Option<&FingerTemplate> {
        self.reads.set(self.reads.get() + 1);
        self.person.finger(position)
    }
    fn has_finger(&self, position: u8) -> bool {
        self.person.finger(position).is_some()
    }
    fn iris(&self, eye: Eye) -> Option<&IrisCode> {
        self.person.iris(eye)
    }
}

#[test]
fn the_sequential_test_gives_up_on_strangers_early_and_keeps_every_mate() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let truths: Vec<Truth> = (0..16).map(|_| truth(&mut rng)).collect();
    // Two captures per person: the second with four fingers missing, or without irises.
    let first: Vec<PersonTemplate> = truths
        .iter()
        .map(|t| capture(t, &mut rng, 0, false))
        .collect();
    let second: Vec<PersonTemplate> = truths
        .iter()
        .enumerate()
        .map(|(i, t)| capture(t, &mut rng, [0, 0b10_0110_0001][i % 2], i % 3 == 0))
        .collect();
    let f = Fusion::default();
    let threshold = 20.7;
    let (mut exact_reads, mut sequential_reads, mut strangers) = (0u32, 0u32, 0u32);
    for (i, a) in second.iter().enumerate() {
        for (j, b) in first.iter().enumerate() {
            let full = compare_persons(a, b, &f);
            let exact = Counting {
                person: b,
                reads: Default::default(),
            };
            let sequential = Counting {
                person: b,
                reads: Default::default(),
            };
            let kept_exact = compare_persons_above(a, &exact, &f, threshold);
            let kept = compare_persons_sequential(a, &sequential, &f, threshold, -20.0);
            if i == j {
                // The same person: kept, with the full score.
                assert!(full.llr >= threshold, "mate {i}: {}", full.llr);
                assert_eq!(kept.as_ref(), Some(&full), "mate {i}");
            } else {
                // A stranger: dropped by both, but after fewer fingers.
                assert!(kept_exact.is_none() && kept.is_none(), "{i} vs {j}");
                exact_reads += exact.reads.get();
                sequential_reads += sequential.reads.get();
                strangers += 1;
            }
        }
    }
    let per = |reads: u32| reads as f64 / strangers as f64;
    assert!(
        per(sequential_reads) * 2.0 < per(exact_reads),
        "fingers read per stranger: {:.2} sequential, {:.2} exact",
        per(sequential_reads),
        per(exact_reads)
    );
    // Off, it is the exact comparison.
    let (a, b) = (&second[1], &first[2]);
    assert_eq!(
        compare_persons_sequential(a, b, &f, -1000.0, f32::NEG_INFINITY),
        compare_persons_above(a, b, &f, -1000.0)
    );
}

#[test]
fn lists_a_large_share_of_the_members_share_are_not_read() {
    // 150 of 300 members carry the very same right thumb: its keys' lists hold 150
    // members each, far above the cap (64 at this size). A probe with that thumb reads them
    // only when the cap is lifted, and finds its mate either way.
    let mut w = world(17, 300, 6, 4);
    let common = w.gallery[0].1.fingers[0].clone();
    for (_, p) in w.gallery.iter_mut().take(150) {
        p.fingers[0] = common.clone();
    }
    for (_, p) in &mut w.probes {
        p.fingers[0] = common.clone();
    }
    let part = Partition::build_with(
        w.gallery,
        &IndexConfig {
            max_bucket_share: 1.0,
            ..IndexConfig::default()
        },
    );
    let probes = ProbeSet::build_with(
        w.probes,
        &IndexConfig {
            max_bucket_share: 1.0,
            ..IndexConfig::default()
        },
    );
    let capped = params();
    assert_eq!(capped.list_cap(part.len()), 64);
    let lifted = SearchParams {
        max_list_share: 1.0,
        ..params()
    };
    let (found_capped, with_cap) = search(&probes, &part, &capped);
    let (found_lifted, without_cap) = search(&probes, &part, &lifted);
    assert!(
        with_cap.index_work + 150 * 6 * 20 < without_cap.index_work,
        "postings visited: {} capped, {} not",
        with_cap.index_work,
        without_cap.index_work
    );
    for m in &w.mates {
        assert!(pairs(&found_capped).contains(m), "mate {m:?} (capped)");
        assert!(pairs(&found_lifted).contains(m), "mate {m:?} (not capped)");
    }
}

#[test]
fn a_gallery_read_once_per_pass_gives_the_same_result_with_one_shortlist_across_it() {
    // Six partitions of 50: held in memory (`search_many`), or decoded afresh from their
    // stored bytes for each of the two passes, as the nightly run streams a gallery beyond
    // its memory budget. Same candidates, same work; and the full comparisons stay at one
    // shortlist per probe, where a search per partition pays one per partition.
    let w = world(19, 300, 10, 6);
    let parts: Vec<Partition> = w
        .gallery
        .chunks(50)
        .map(|c| Partition::build(c.to_vec()))
        .collect();
    let stored: Vec<Vec<u8>> = parts.iter().map(Partition::to_bytes).collect();
    let probes = ProbeSet::build(w.probes);
    let p = SearchParams {
        shortlist: 4,
        iris_depth: 20,
        ..SearchParams::default()
    };
    let refs: Vec<&Partition> = parts.iter().collect();
    let (held, held_stats) = search_many(&probes, &refs, &p);

    let load = |k: usize| Partition::from_bytes(&stored[k]).expect("stored partition");
    let mut ranking = Ranking::new(&probes, &p);
    for k in 0..stored.len() {
        ranking.add(&load(k), k);
    }
    let mut selection = ranking.select();
    let mut streamed: Vec<(usize, Candidate)> = Vec::new();
    for k in 0..stored.len() {
        streamed.extend(selection.compare(&load(k), k).into_iter().map(|c| (k, c)));
    }
    // Partition by partition, each partition's candidates come in `search_many`'s order.
    let mut held_by_partition = held.clone();
    held_by_partition.sort_by_key(|(k, c)| (*k, c.probe));
    streamed.sort_by_key(|(k, c)| (*k, c.probe));
    let stats = selection.stats();
    assert_eq!(streamed, held_by_partition);
    assert_eq!(
        (stats.full_comparisons, stats.index_work, stats.iris_checks),
        (
            held_stats.full_comparisons,
            held_stats.index_work,
            held_stats.iris_checks
        )
    );
    for &(probe, member) in &w.mates {
        let (k, m) = (member as usize / 50, member % 50);
        assert!(
            held.iter()
                .any(|(pk, c)| c.probe == probe && *pk == k && c.member == m),
            "mate {:?} not found",
            (probe, member)
        );
    }
    let per_partition: u64 = parts
        .iter()
        .map(|part| search(&probes, part, &p).1.full_comparisons)
        .sum();
    assert!(
        held_stats.full_comparisons * 3 < per_partition,
        "full comparisons: {} with one shortlist, {per_partition} with one per partition",
        held_stats.full_comparisons
    );
}

/// A world's gallery cut into partitions of `size`, its probes, and search parameters with a
/// shortlist of 3 and an iris depth of `depth` (small, so that per-partition floors prune):
/// the distributed search's test setting.
fn split_world(w: World, size: usize, depth: usize) -> (Vec<Partition>, ProbeSet, SearchParams) {
    let parts = w
        .gallery
        .chunks(size)
        .map(|c| Partition::build(c.to_vec()))
        .collect();
    let params = SearchParams {
        shortlist: 3,
        iris_depth: depth,
        ..SearchParams::default()
    };
    (parts, ProbeSet::build(w.probes), params)
}

#[test]
fn partitions_ranked_and_compared_apart_give_exactly_the_in_process_result() {
    // The distributed search: each partition's first pass computed on its own
    // (`Ranking::rank`, an executor's task), added to the driver's ranking
    // (`add_ranked`), and its second pass run on the lists the driver chose
    // (`Selection::chosen` + `compare_chosen`). A small depth makes the per-partition floors
    // prune, so the equality is not trivial.
    let (parts, probes, p) = split_world(world(23, 300, 10, 6), 60, 12);
    let mut local = Ranking::new(&probes, &p);
    let mut apart = Ranking::new(&probes, &p);
    for (k, part) in parts.iter().enumerate() {
        local.add(part, k);
        apart.add_ranked(Ranking::rank(&probes, &p, part), k);
    }
    let (mut local, apart) = (local.select(), apart.select());
    let mut pruned = 0;
    for (k, part) in parts.iter().enumerate() {
        let chosen = apart.chosen(k, part.len());
        let ranked = Ranking::rank(&probes, &p, part);
        pruned += ranked
            .per_probe
            .iter()
            .map(|l| part.len() - l.len())
            .sum::<usize>();
        let (found, _) = compare_chosen(&probes, &p, part, &chosen);
        assert_eq!(found, local.compare(part, k), "partition {k}");
    }
    assert!(pruned > 0, "the per-partition depth pruned nothing");
}

#[test]
fn a_floor_from_every_partitions_samples_drops_only_what_could_never_be_kept() {
    // The distributed search's threshold round: each partition (an executor's unit) ranks
    // alone and sends only samples of its evidence; the driver takes from all of them a
    // floor per probe; each partition then returns only members at or above it. The
    // driver's ranking, and so every list it chooses, must be exactly the one built from
    // the partitions' whole first passes — while most of those passes are not sent.
    let (parts, probes, p) = split_world(world(29, 400, 10, 8), 50, 40);
    let ranked: Vec<Ranked> = parts
        .iter()
        .map(|part| Ranking::rank(&probes, &p, part))
        .collect();
    let depths = Ranking::depths(&probes, &p);
    let samples: Vec<Vec<Samples>> = ranked
        .iter()
        .map(|r| r.samples(p.always_votes, &depths, parts.len()))
        .collect();
    let floors = Ranking::floors(&depths, &samples);
    assert!(
        floors.iter().any(|f| f.is_finite()),
        "no probe got a floor: the test proves nothing"
    );
    let mut whole = Ranking::new(&probes, &p);
    let mut floored = Ranking::new(&probes, &p);
    let (mut sent, mut all) = (0usize, 0usize);
    for (k, r) in ranked.into_iter().enumerate() {
        all += r.per_probe.iter().map(Vec::len).sum::<usize>();
        let kept = r.clone().above(&floors, p.always_votes);
        sent += kept.per_probe.iter().map(Vec::len).sum::<usize>();
        whole.add_ranked(r, k);
        floored.add_ranked(kept, k);
    }
    let (whole, floored) = (whole.select(), floored.select());
    for (k, part) in parts.iter().enumerate() {
        assert_eq!(
            floored.chosen(k, part.len()),
            whole.chosen(k, part.len()),
            "partition {k}"
        );
    }
    assert!(
        sent * 2 < all,
        "the floors kept {sent} of {all} entries: the round saves nothing"
    );
}

/// The threshold round with passes cut to each unit's share (`Ranking::rank_unit`): per
/// unit, the cut pass when it covers the floors, else the unit's whole pass. Returns the
/// driver's chosen lists, and how many units answered from a pass that was cut and how many
/// needed their whole pass.
fn gathered_from_cut_passes(
    parts: &[Partition],
    probes: &ProbeSet,
    p: &SearchParams,
) -> (Vec<biometrics::index::Chosen>, usize, usize) {
    let passes: Vec<UnitPass> = parts
        .iter()
        .map(|part| Ranking::rank_unit(probes, p, part, parts.len()))
        .collect();
    let depths = Ranking::depths(probes, p);
    let samples: Vec<Vec<Samples>> = passes
        .iter()
        .map(|u| u.ranked.samples(p.always_votes, &depths, parts.len()))
        .collect();
    let floors = Ranking::floors(&depths, &samples);
    let mut ranking = Ranking::new(probes, p);
    let (mut cut, mut whole) = (0, 0);
    for (k, (pass, part)) in passes.into_iter().zip(parts).enumerate() {
        let ranked = if pass.covers(&floors) {
            cut += usize::from(pass.cut.iter().any(Option::is_some));
            pass.ranked
        } else {
            whole += 1;
            Ranking::rank(probes, p, part)
        };
        ranking.add_ranked(ranked.above(&floors, p.always_votes), k);
    }
    let selection = ranking.select();
    let chosen = parts
        .iter()
        .enumerate()
        .map(|(k, part)| selection.chosen(k, part.len()))
        .collect();
    (chosen, cut, whole)
}

#[test]
fn unit_passes_cut_to_their_share_give_the_same_lists_and_fall_back_when_a_unit_holds_more() {
    // An executor keeps only four fair shares of each probe's depth from a unit's first
    // pass. Where every probe's floor lies above the cut, the kept pass answers; where a
    // unit holds more of a probe's best than that (a unit much larger than the others),
    // its whole pass does. Either way the driver must choose exactly the lists the whole
    // passes give.
    let w = world(31, 1200, 10, 8);
    let (gallery, probe_list) = (w.gallery, w.probes);
    let probes = ProbeSet::build(probe_list);
    let p = SearchParams {
        shortlist: 3,
        iris_depth: 200,
        ..SearchParams::default()
    };
    let whole_lists = |parts: &[Partition]| {
        let mut ranking = Ranking::new(&probes, &p);
        for (k, part) in parts.iter().enumerate() {
            ranking.add(part, k);
        }
        let s = ranking.select();
        parts
            .iter()
            .enumerate()
            .map(|(k, part)| s.chosen(k, part.len()))
            .collect::<Vec<_>>()
    };
    // Twelve even units: each holds about a twelfth of a probe's best.
    let even: Vec<Partition> = gallery
        .chunks(100)
        .map(|c| Partition::build(c.to_vec()))
        .collect();
    let (lists, cut, whole) = gathered_from_cut_passes(&even, &probes, &p);
    assert_eq!(lists, whole_lists(&even), "even units");
    assert!(cut > 0, "no unit's pass was cut: the test proves nothing");
    assert_eq!(whole, 0, "an even unit needed its whole pass");
    // One unit of 1,000 and five of 40: the big one holds ~5/6 of every probe's best,
    // beyond four shares of a sixth.
    let mut uneven = vec![Partition::build(gallery[..1000].to_vec())];
    uneven.extend(
        gallery[1000..]
            .chunks(40)
            .map(|c| Partition::build(c.to_vec())),
    );
    let (lists, _, whole) = gathered_from_cut_passes(&uneven, &probes, &p);
    assert_eq!(lists, whole_lists(&uneven), "uneven units");
    assert!(whole > 0, "the big unit's cut pass covered every floor");
}
