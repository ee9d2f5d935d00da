-- name: sla_by_service_point
-- purpose: 24-hour SLA compliance (capture finished -> first 1:N result) per service point and capture day.
-- param region = '': only service points whose district code starts with this (e.g. 33.74); empty: all
-- column site: service point (kecamatan code PP.KK.CC) where the packet landed
-- column service_point: district name of the site
-- column day: capture day as the service point filed it (the <date> folder of landing/<site>/<date>/)
-- column enrolled: accepted enrollments captured that day
-- column deduplicated: of those, enrollments with a 1:N result (a row in identity_status)
-- column within_sla: results committed at most 24 hours after capture_finished
-- column late: results committed more than 24 hours after capture_finished
-- column pending: enrollments still without a result
-- column compliance: within_sla / deduplicated (null when nothing is deduplicated yet)
-- column compliance_pct: compliance in percent, one decimal (98.5), for people to read
-- column max_hours: longest capture -> result time of the day, in hours
-- The packets side is cut down to its id, site and day folder before the joins: the hash joins
-- then carry two short strings per row instead of the whole landing path. The region filter
-- is on the path itself (landing/<site>/…): a prefix test the scan evaluates cheaply, where a
-- filter on `site` would be pushed down as one more split_part per packet.
WITH p AS (
    SELECT enrollment_id,
           split_part(object_path, '/', 2) AS site,
           split_part(object_path, '/', 3) AS day_folder
    FROM packets
    WHERE status = 'accepted' AND object_path LIKE 'landing/' || $region || '%'
),
e AS (
    SELECT p.site, p.day_folder, e.capture_finished, s.first_result_time
    FROM p
    JOIN enrollments e ON e.enrollment_id = p.enrollment_id
    LEFT JOIN identity_status s ON s.enrollment_id = p.enrollment_id
),
-- Counted per site and day folder as text, then per day: the date is parsed once per folder
-- rather than once per packet. Named last: regions has one row per code.
folders AS (
    SELECT site,
           day_folder,
           count(*) AS enrolled,
           count(first_result_time) AS deduplicated,
           sum(CASE WHEN first_result_time <= capture_finished + INTERVAL '24 hours' THEN 1 ELSE 0 END) AS within_sla,
           sum(CASE WHEN first_result_time > capture_finished + INTERVAL '24 hours' THEN 1 ELSE 0 END) AS late,
           sum(CASE WHEN first_result_time IS NULL THEN 1 ELSE 0 END) AS pending,
           max(CAST(to_unixtime(first_result_time) - to_unixtime(capture_finished) AS DOUBLE)) AS max_seconds
    FROM e
    GROUP BY site, day_folder
),
days AS (
    SELECT site,
           CAST(day_folder AS DATE) AS day,
           sum(enrolled) AS enrolled,
           sum(deduplicated) AS deduplicated,
           sum(within_sla) AS within_sla,
           sum(late) AS late,
           sum(pending) AS pending,
           max(max_seconds) AS max_seconds
    FROM folders
    GROUP BY site, CAST(day_folder AS DATE)
)
SELECT d.site,
       g.name AS service_point,
       d.day,
       d.enrolled,
       d.deduplicated,
       d.within_sla,
       d.late,
       d.pending,
       CAST(d.within_sla AS DOUBLE) / NULLIF(d.deduplicated, 0) AS compliance,
       round(100.0 * CAST(d.within_sla AS DOUBLE) / NULLIF(d.deduplicated, 0), 1) AS compliance_pct,
       round(d.max_seconds / 3600.0, 2) AS max_hours
FROM days d
LEFT JOIN regions g ON g.code = d.site
ORDER BY d.site, d.day
