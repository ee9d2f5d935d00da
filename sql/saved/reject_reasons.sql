-- name: reject_reasons
-- purpose: Rejected packets by reason code, per service point and capture day (equipment or operator trouble shows up here).
-- param region = '': only service points whose district code starts with this (e.g. 33.74); empty: all
-- column site: service point (kecamatan code PP.KK.CC): the <site> folder the packet landed in
-- column service_point: district name of the site
-- column day: the <date> folder of landing/<site>/<date>/ (the service point's capture day)
-- column reason_code: stable rejection code (see docs/packet-format.md)
-- column rejected: packets rejected with that code
-- column landed: all packets of that site and day, accepted or rejected
-- column share: rejected / landed
WITH p AS (
    SELECT split_part(object_path, '/', 2) AS site,
           TRY_CAST(split_part(object_path, '/', 3) AS DATE) AS day,
           status,
           reason_code
    FROM packets
    WHERE object_path LIKE 'landing/%'
      AND split_part(object_path, '/', 2) LIKE $region || '%'
),
landed AS (
    SELECT site, day, count(*) AS landed FROM p GROUP BY site, day
)
SELECT p.site,
       g.name AS service_point,
       p.day,
       p.reason_code,
       count(*) AS rejected,
       l.landed,
       CAST(count(*) AS DOUBLE) / l.landed AS share
FROM p
JOIN landed l ON l.site = p.site AND l.day IS NOT DISTINCT FROM p.day
LEFT JOIN regions g ON g.code = p.site
WHERE p.status = 'rejected'
GROUP BY p.site, g.name, p.day, p.reason_code, l.landed
ORDER BY p.site, p.day, p.reason_code
