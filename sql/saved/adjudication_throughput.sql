-- name: adjudication_throughput
-- purpose: Cases decided per adjudicator and day, by outcome, with the time from flag to decision.
-- param adjudicator = '': only this adjudicator's decisions (user name); empty: everyone
-- column decided_by: user name of the deciding adjudicator
-- column day: day of the decision (UTC)
-- column cases: adjudication cases decided
-- column enrollments: enrollments those decisions covered
-- column duplicate_cases: cases decided duplicate
-- column cleared_cases: cases decided different persons or legitimate re-enrollment
-- column referred_cases: cases referred back to the service point
-- column fraud_cases: cases with fraud flagged
-- column confirmed_cases: cases confirmed by a second adjudicator or supervisor
-- column median_hours_to_decision: median hours from the enrollment's first 1:N result to the decision
--
-- One decision covers every enrollment of its case; a case counts once per adjudicator and day.
WITH d AS (
    SELECT d.decided_by,
           CAST(d.decided_time AS DATE) AS day,
           d.case_id, d.outcome, d.fraud, d.confirmed_by,
           CAST(to_unixtime(d.decided_time) - to_unixtime(s.first_result_time) AS DOUBLE) / 3600.0 AS hours
    FROM decisions d
    LEFT JOIN identity_status s ON s.enrollment_id = d.enrollment_id
    WHERE $adjudicator = '' OR d.decided_by = $adjudicator
)
SELECT decided_by,
       day,
       count(DISTINCT case_id) AS cases,
       count(*) AS enrollments,
       count(DISTINCT CASE WHEN outcome = 'duplicate' THEN case_id END) AS duplicate_cases,
       count(DISTINCT CASE WHEN outcome IN ('different_persons', 'reenrollment') THEN case_id END) AS cleared_cases,
       count(DISTINCT CASE WHEN outcome = 'refer_back' THEN case_id END) AS referred_cases,
       count(DISTINCT CASE WHEN fraud THEN case_id END) AS fraud_cases,
       count(DISTINCT CASE WHEN confirmed_by IS NOT NULL THEN case_id END) AS confirmed_cases,
       round(median(hours), 2) AS median_hours_to_decision
FROM d
GROUP BY decided_by, day
ORDER BY decided_by, day
