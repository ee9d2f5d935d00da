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
-- One pass over the packets: counts per site, day, status and reason; a site-day's landed
-- total is the sum of its groups. Named last: regions has one row per code.
groups AS (
    SELECT site, day, status, reason_code, count(*) AS packets
    FROM p
    GROUP BY site, day, status, reason_code
),
shares AS (
    SELECT site, day, status, reason_code, packets,
           sum(packets) OVER (PARTITION BY site, day) AS landed
    FROM groups
)
SELECT s.site,
       g.name AS service_point,
       s.day,
       s.reason_code,
       s.packets AS rejected,
       s.landed,
       CAST(s.packets AS DOUBLE) / s.landed AS share
FROM shares s
LEFT JOIN regions g ON g.code = s.site
WHERE s.status = 'rejected'
ORDER BY s.site, s.day, s.reason_code
