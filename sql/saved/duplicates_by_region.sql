-- name: duplicates_by_region
-- purpose: Duplicate identities found (ganda, nik_conflict) per 10,000 deduplicated enrollees, per regency/city, with the adjudication outcome.
-- param region = '': only regencies whose code starts with this (e.g. 33 or 33.74); empty: all
-- column regency_code: kabupaten/kota code PP.KK of the enrollee's address
-- column regency: regency/city name
-- column deduplicated: enrollments with a 1:N result (a row in identity_status)
-- column flagged: enrollments found ganda or nik_conflict (open, or decided by an adjudicator)
-- column per_10k: flagged per 10,000 deduplicated
-- column open_ganda: status ganda, no decision yet
-- column open_nik_conflict: status nik_conflict, no decision yet
-- column decided_duplicate: latest decision: duplicate (blocked)
-- column decided_different_persons: latest decision: different persons (cleared)
-- column decided_reenrollment: latest decision: legitimate re-enrollment (cleared)
-- column referred_back: latest decision: referred back to the service point
--
-- The outcome is the enrollment's latest row in decisions (latest decided_time wins), so a
-- decision counts even before the next dedup run applies it to identity_status.
WITH latest AS (
    SELECT enrollment_id, outcome
    FROM (SELECT enrollment_id, outcome,
                 row_number() OVER (PARTITION BY enrollment_id ORDER BY decided_time DESC, decision_id DESC) AS rn
          FROM decisions)
    WHERE rn = 1
),
e AS (
    SELECT e.regency_code, s.status, d.outcome
    FROM enrollments e
    JOIN identity_status s ON s.enrollment_id = e.enrollment_id
    LEFT JOIN latest d ON d.enrollment_id = e.enrollment_id
    WHERE e.regency_code LIKE $region || '%'
),
-- Counted first, then named: regions has one row per code.
counts AS (
    SELECT regency_code,
           count(*) AS deduplicated,
           sum(CASE WHEN outcome IS NOT NULL OR status IN ('ganda', 'nik_conflict') THEN 1 ELSE 0 END) AS flagged,
           sum(CASE WHEN outcome IS NULL AND status = 'ganda' THEN 1 ELSE 0 END) AS open_ganda,
           sum(CASE WHEN outcome IS NULL AND status = 'nik_conflict' THEN 1 ELSE 0 END) AS open_nik_conflict,
           sum(CASE WHEN outcome = 'duplicate' THEN 1 ELSE 0 END) AS decided_duplicate,
           sum(CASE WHEN outcome = 'different_persons' THEN 1 ELSE 0 END) AS decided_different_persons,
           sum(CASE WHEN outcome = 'reenrollment' THEN 1 ELSE 0 END) AS decided_reenrollment,
           sum(CASE WHEN outcome = 'refer_back' THEN 1 ELSE 0 END) AS referred_back
    FROM e
    GROUP BY regency_code
)
SELECT c.regency_code,
       g.name AS regency,
       c.deduplicated,
       c.flagged,
       round(c.flagged * 10000.0 / c.deduplicated, 2) AS per_10k,
       c.open_ganda,
       c.open_nik_conflict,
       c.decided_duplicate,
       c.decided_different_persons,
       c.decided_reenrollment,
       c.referred_back
FROM counts c
LEFT JOIN regions g ON g.code = c.regency_code
ORDER BY c.regency_code
