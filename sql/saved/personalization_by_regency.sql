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
SELECT j.regency_code,
       g.name AS regency,
       CAST(j.exported_time AS DATE) AS day,
       count(DISTINCT j.job_id) AS jobs,
       count(*) AS cards,
       sum(CASE WHEN j.reason = 'new' THEN 1 ELSE 0 END) AS new_cards,
       sum(CASE WHEN j.reason = 'reissue' THEN 1 ELSE 0 END) AS reissues
FROM personalization_jobs j
LEFT JOIN regions g ON g.code = j.regency_code
WHERE j.regency_code LIKE $region || '%'
GROUP BY j.regency_code, g.name, CAST(j.exported_time AS DATE)
ORDER BY j.regency_code, day
