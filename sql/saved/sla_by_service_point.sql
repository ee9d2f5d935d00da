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
-- column max_hours: longest capture -> result time of the day, in hours
WITH e AS (
    SELECT e.enrollment_id,
           split_part(p.object_path, '/', 2) AS site,
           CAST(split_part(p.object_path, '/', 3) AS DATE) AS day,
           e.capture_finished,
           s.first_result_time
    FROM enrollments e
    JOIN packets p ON p.enrollment_id = e.enrollment_id AND p.status = 'accepted'
    LEFT JOIN identity_status s ON s.enrollment_id = e.enrollment_id
    WHERE split_part(p.object_path, '/', 2) LIKE $region || '%'
)
SELECT e.site,
       g.name AS service_point,
       e.day,
       count(*) AS enrolled,
       count(e.first_result_time) AS deduplicated,
       sum(CASE WHEN e.first_result_time <= e.capture_finished + INTERVAL '24 hours' THEN 1 ELSE 0 END) AS within_sla,
       sum(CASE WHEN e.first_result_time > e.capture_finished + INTERVAL '24 hours' THEN 1 ELSE 0 END) AS late,
       sum(CASE WHEN e.first_result_time IS NULL THEN 1 ELSE 0 END) AS pending,
       CAST(sum(CASE WHEN e.first_result_time <= e.capture_finished + INTERVAL '24 hours' THEN 1 ELSE 0 END) AS DOUBLE)
           / NULLIF(count(e.first_result_time), 0) AS compliance,
       round(max(CAST(to_unixtime(e.first_result_time) - to_unixtime(e.capture_finished) AS DOUBLE)) / 3600.0, 2) AS max_hours
FROM e
LEFT JOIN regions g ON g.code = e.site
GROUP BY e.site, g.name, e.day
ORDER BY e.site, e.day
