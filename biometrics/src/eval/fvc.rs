//! The FVC verification protocol: genuine pairs are every two impressions of one finger,
//! impostor pairs every two impressions of different fingers; each pair is compared once
//! (the matcher is exactly symmetric, so this equals the max of both directions).

use rayon::prelude::*;

use super::{error_rates, EvalError, FvcReport};
use crate::finger::{prepare, FingerTemplate};
use crate::iso19794;
use crate::matcher::{FingerMatcher, Matcher};

/// Genuine and impostor scores of an FVC run.
#[derive(Debug, Clone, PartialEq)]
pub struct FvcScores {
    /// Scores of pairs of impressions of the same finger.
    pub genuine: Vec<f32>,
    /// Scores of pairs of impressions of different fingers.
    pub impostor: Vec<f32>,
}

/// The `.iso` records of an FVC folder as the protocol takes them: (file name, bytes), in
/// file-name order (the protocol pairs impressions by their `<finger>_<impression>` names).
pub fn read_fvc_folder(dir: &std::path::Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "iso"));
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok((name, std::fs::read(&p)?))
        })
        .collect()
}

/// Splits `<finger>_<impression>[.ext]` into the finger part.
fn finger_of(name: &str) -> Result<&str, EvalError> {
    let stem = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = stem.split('.').next().unwrap_or(stem);
    match stem.rsplit_once('_') {
        Some((f, imp)) if !f.is_empty() && !imp.is_empty() => Ok(f),
        _ => Err(EvalError::BadName(name.to_string())),
    }
}

/// Parses and prepares every template, then scores all genuine and impostor pairs.
pub fn fvc_scores(templates: &[(String, Vec<u8>)]) -> Result<FvcScores, EvalError> {
    let prepared: Vec<(String, FingerTemplate)> = templates
        .iter()
        .map(|(name, bytes)| {
            let rec = iso19794::parse(bytes).map_err(|source| EvalError::Template {
                name: name.clone(),
                source,
            })?;
            let view = rec
                .views
                .first()
                .ok_or_else(|| EvalError::NoView(name.clone()))?;
            Ok((
                finger_of(name)?.to_string(),
                prepare(view, rec.res_x, rec.res_y),
            ))
        })
        .collect::<Result<_, EvalError>>()?;
    genuine_impostor_scores(&FingerMatcher, &prepared)
}

/// Scores every pair of `(source, template)` once with `matcher`: genuine when both come from
/// the same source (finger, eye), impostor otherwise. The protocol does not depend on the
/// modality, so any matcher of similarities runs through it.
pub fn genuine_impostor_scores<M>(
    matcher: &M,
    templates: &[(String, M::Template)],
) -> Result<FvcScores, EvalError>
where
    M: Matcher<Score = f32> + Sync,
    M::Template: Sync,
{
    let n = templates.len();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let scored: Vec<(bool, f32)> = pairs
        .par_iter()
        .map(|&(i, j)| {
            (
                templates[i].0 == templates[j].0,
                matcher.score(&templates[i].1, &templates[j].1),
            )
        })
        .collect();
    let genuine: Vec<f32> = scored.iter().filter(|s| s.0).map(|s| s.1).collect();
    let impostor: Vec<f32> = scored.iter().filter(|s| !s.0).map(|s| s.1).collect();
    if genuine.is_empty() || impostor.is_empty() {
        return Err(EvalError::TooFew);
    }
    Ok(FvcScores { genuine, impostor })
}

/// Runs the FVC protocol over `(name, ISO 19794-2 bytes)` templates named
/// `<finger>_<impression>` and reports EER and FNMR at FMR 1 %, 0.1 % and 0.
pub fn fvc_protocol(templates: &[(String, Vec<u8>)]) -> Result<FvcReport, EvalError> {
    let s = fvc_scores(templates)?;
    Ok(error_rates(&s.genuine, &s.impostor))
}
