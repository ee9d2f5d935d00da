-- name: coverage_by_regency
-- purpose: Share of wajib-KTP residents of the SIAK extract who have enrolled, per regency/city (kabupaten/kota).
-- param reference_date = '': day on which age and marital status decide wajib KTP, and the last capture day counted (YYYY-MM-DD; empty: today)
-- param region = '': only residents whose regency code starts with this (e.g. 33 or 33.74); empty: all
-- column regency_code: kabupaten/kota code PP.KK of the resident's registered address
-- column regency: regency/city name
-- column province_code: provinsi code PP
-- column wajib_ktp: residents of the SIAK extract who must hold an e-KTP on the reference date (aged 17 or more, or ever married)
-- column enrolled: of those, residents with at least one accepted enrollment under their NIK captured on or before the reference date (UTC day)
-- column coverage: enrolled / wajib_ktp
--
-- Same definitions as coverage_by_province, one level down.
WITH params AS (
    SELECT COALESCE(CAST(NULLIF($reference_date, '') AS DATE), CURRENT_DATE) AS ref
),
wajib AS (
    SELECT r.nik, r.regency_code, r.province_code
    FROM residents r CROSS JOIN params p
    WHERE r.regency_code LIKE $region || '%'
      AND (r.marital_status <> 'BELUM KAWIN'
           OR date_part('year', p.ref) - date_part('year', r.birth_date)
              - CASE WHEN date_part('month', p.ref) * 100 + date_part('day', p.ref)
                        < date_part('month', r.birth_date) * 100 + date_part('day', r.birth_date)
                     THEN 1 ELSE 0 END >= 17)
),
enrolled AS (
    SELECT DISTINCT e.nik
    FROM enrollments e CROSS JOIN params p
    WHERE CAST(e.capture_finished AS DATE) <= p.ref
)
SELECT w.regency_code,
       g.name AS regency,
       w.province_code,
       count(*) AS wajib_ktp,
       count(n.nik) AS enrolled,
       CAST(count(n.nik) AS DOUBLE) / count(*) AS coverage
FROM wajib w
LEFT JOIN enrolled n ON n.nik = w.nik
LEFT JOIN regions g ON g.code = w.regency_code
GROUP BY w.regency_code, g.name, w.province_code
ORDER BY w.regency_code
