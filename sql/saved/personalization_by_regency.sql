-- name: personalization_by_regency
-- purpose: Cards sent for personalization per regency/city office and export day.
-- param region = '': only regencies whose code starts with this (e.g. 33 or 33.74); empty: all
-- column regency_code: kabupaten/kota code PP.KK of the office that prints the cards
-- column regency: regency/city name
-- column day: export day (UTC)
-- column jobs: job files written
-- column cards: enrollments in those jobs (one card each)
-- column new_cards: first cards
-- column reissues: re-issued cards (re-enrollment after a lost or damaged card)
-- Counted first, then named: regions has one row per code.
WITH days AS (
    SELECT regency_code,
           CAST(exported_time AS DATE) AS day,
           count(DISTINCT job_id) AS jobs,
           count(*) AS cards,
           sum(CASE WHEN reason = 'new' THEN 1 ELSE 0 END) AS new_cards,
           sum(CASE WHEN reason = 'reissue' THEN 1 ELSE 0 END) AS reissues
    FROM personalization_jobs
    WHERE regency_code LIKE $region || '%'
    GROUP BY regency_code, CAST(exported_time AS DATE)
)
SELECT d.regency_code,
       g.name AS regency,
       d.day,
       d.jobs,
       d.cards,
       d.new_cards,
       d.reissues
FROM days d
LEFT JOIN regions g ON g.code = d.regency_code
ORDER BY d.regency_code, d.day
