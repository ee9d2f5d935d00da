-- identity_status: the current state of each deduplicated enrollment, the latest of its
-- rows in status_history (tunggal registers this view in every session; notebooks too).
-- An aggregate by enrollment rather than a window: a hash aggregation instead of a sort of
-- the whole history, and a filter on enrollment_id still reaches the scan.
SELECT enrollment_id,
       first_value(status ORDER BY recorded DESC) AS status,
       first_value(cluster_id ORDER BY recorded DESC) AS cluster_id,
       first_value(since ORDER BY recorded DESC) AS since,
       first_value(run_id ORDER BY recorded DESC) AS run_id,
       first_value(first_run_id ORDER BY recorded DESC) AS first_run_id,
       first_value(first_result_time ORDER BY recorded DESC) AS first_result_time,
       first_value(detail ORDER BY recorded DESC) AS detail,
       first_value(decision_id ORDER BY recorded DESC) AS decision_id,
       first_value(cluster_size ORDER BY recorded DESC) AS cluster_size
FROM status_history
GROUP BY enrollment_id
