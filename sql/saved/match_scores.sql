-- name: match_scores
-- purpose: Every pair the 1:N search scored (probe, candidate, fused LLR, band), for threshold review and score distributions.
-- param min_llr = '': only pairs with a fused LLR at least this (a number); empty: all
-- column run_id: the dedup run that scored the pair
-- column probe_id: the enrollment searched
-- column candidate_id: the enrollment it matched
-- column relation: same_nik or different_nik
-- column band: match (acted upon) or possible (recorded only)
-- column llr: fused log-likelihood ratio over all fingers and irises
-- column finger_llr: the fingers' share of llr
-- column iris_llr: the irises' share of llr
--
-- Join with synth-truth (person_id per packet) to label pairs genuine or impostor; the
-- notebook match_scores.ipynb draws the distributions and the DET curve from it.
SELECT m.run_id, m.probe_id, m.candidate_id, m.relation, m.band, m.llr, m.finger_llr, m.iris_llr
FROM match_candidates m
WHERE m.llr >= COALESCE(CAST(NULLIF($min_llr, '') AS DOUBLE), CAST('-Infinity' AS DOUBLE))
ORDER BY m.llr DESC, m.probe_id, m.candidate_id
