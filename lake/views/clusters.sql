-- clusters: the members of every duplicate cluster in the current states of status_history
-- (run_id is the dedup run that wrote the member's state).
SELECT cluster_id, enrollment_id, cluster_size, created, run_id
FROM (SELECT enrollment_id,
             first_value(cluster_id ORDER BY recorded DESC) AS cluster_id,
             first_value(cluster_size ORDER BY recorded DESC) AS cluster_size,
             first_value(cluster_created ORDER BY recorded DESC) AS created,
             first_value(written_by ORDER BY recorded DESC) AS run_id
      FROM status_history
      GROUP BY enrollment_id) AS latest
WHERE cluster_id IS NOT NULL
