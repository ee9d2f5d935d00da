-- name: coverage_by_province
-- purpose: Share of wajib-KTP residents of the SIAK extract who have enrolled, per province.
-- param reference_date = '': day on which age and marital status decide wajib KTP, and the last capture day counted (YYYY-MM-DD; empty: today)
-- param region = '': only residents whose regency code starts with this (e.g. 33 or 33.74); empty: all
-- column province_code: provinsi code PP of the resident's registered address
-- column province: province name
-- column wajib_ktp: residents of the SIAK extract who must hold an e-KTP on the reference date (aged 17 or more, or ever married)
-- column enrolled: of those, residents with at least one accepted enrollment under their NIK captured on or before the reference date (UTC day)
-- column coverage: enrolled / wajib_ktp
-- column coverage_pct: coverage in percent, one decimal (65.7), for people to read
--
-- Wajib KTP follows reference::siak::Resident::is_wajib_ktp: whole years of age on the
-- reference date >= 17, or marital status other than BELUM KAWIN.
-- The reference day is written out where it is used (a constant the planner folds) rather
-- than joined from a one-row table, which would cost a nested-loop join over every resident.
-- Aged 17 or more on the reference day = born on or before that day 17 years earlier (29
-- February counts as 28 February in a year without it, as whole years of age do).
WITH wajib AS (
    SELECT r.nik, r.province_code
    FROM residents r
    WHERE r.regency_code LIKE $region || '%'
      AND (r.marital_status <> 'BELUM KAWIN'
           OR r.birth_date <= COALESCE(CAST(NULLIF($reference_date, '') AS DATE), CURRENT_DATE) - INTERVAL '17 years')
),
enrolled AS (
    SELECT e.nik
    FROM enrollments e
    WHERE CAST(e.capture_finished AS DATE) <= COALESCE(CAST(NULLIF($reference_date, '') AS DATE), CURRENT_DATE)
),
-- Counted in two passes over wajib, all of them and those whose NIK has an enrollment (a
-- semi-join: no DISTINCT over a million NIKs), then named: regions has one row per code.
totals AS (
    SELECT province_code, count(*) AS wajib_ktp FROM wajib GROUP BY province_code
),
covered AS (
    SELECT province_code, count(*) AS enrolled
    FROM wajib
    WHERE nik IN (SELECT nik FROM enrolled)
    GROUP BY province_code
)
SELECT t.province_code,
       g.name AS province,
       t.wajib_ktp,
       COALESCE(c.enrolled, 0) AS enrolled,
       CAST(COALESCE(c.enrolled, 0) AS DOUBLE) / t.wajib_ktp AS coverage,
       round(100.0 * CAST(COALESCE(c.enrolled, 0) AS DOUBLE) / t.wajib_ktp, 1) AS coverage_pct
FROM totals t
LEFT JOIN covered c ON c.province_code = t.province_code
LEFT JOIN regions g ON g.code = t.province_code
ORDER BY t.province_code
