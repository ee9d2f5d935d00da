-- name: adjudication_backlog
-- purpose: Suspected duplicates waiting for an adjudicator, by status, with their age.
-- param as_of = '': the moment ages are measured at (RFC 3339, e.g. 2026-11-10T00:00:00Z; empty: now)
-- column status: ganda or nik_conflict
-- column open_enrollments: enrollments with that status and no decision in the lake yet
-- column open_clusters: distinct duplicate clusters among them (about one adjudication case each)
-- column oldest_since: when the oldest of them got its status
-- column under_24h: open for less than 24 hours
-- column from_1_to_7_days: open for 24 hours up to 7 days
-- column over_7_days: open for 7 days or more
-- column max_age_hours: age of the oldest, in hours
--
-- The lake knows flagged enrollments (identity_status) and final decisions (decisions). Case
-- assignment, drafts and second opinions live in the console's own case store (SQLite), not
-- in the lake, so the backlog here is per status, not per adjudicator.
-- Undecided = no row in `decisions` (an anti join: no DISTINCT over the decisions, and the
-- moment of measurement is a constant expression rather than a one-row table joined in).
WITH open AS (
    SELECT s.status, s.cluster_id, s.since,
           CAST(COALESCE(to_unixtime(NULLIF($as_of, '')), to_unixtime(now())) - to_unixtime(s.since) AS DOUBLE) / 3600.0 AS age_hours
    FROM identity_status s
    WHERE s.status IN ('ganda', 'nik_conflict')
      AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.enrollment_id = s.enrollment_id)
)
SELECT status,
       count(*) AS open_enrollments,
       count(DISTINCT cluster_id) AS open_clusters,
       min(since) AS oldest_since,
       sum(CASE WHEN age_hours < 24 THEN 1 ELSE 0 END) AS under_24h,
       sum(CASE WHEN age_hours >= 24 AND age_hours < 168 THEN 1 ELSE 0 END) AS from_1_to_7_days,
       sum(CASE WHEN age_hours >= 168 THEN 1 ELSE 0 END) AS over_7_days,
       round(max(age_hours), 2) AS max_age_hours
FROM open
GROUP BY status
ORDER BY status
