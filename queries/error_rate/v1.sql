-- description: Per time bucket (hour or day): all rows, ERROR/CRITICAL/FATAL rows and their share in percent, for a date range.
-- param: start date
-- param: end date
-- param: bucket string = hour
SELECT
  date_trunc(:bucket, event_time) AS bucket_start,
  COUNT(*) AS total,
  SUM(CASE WHEN level IN ('ERROR', 'CRITICAL', 'FATAL') THEN 1 ELSE 0 END) AS errors,
  ROUND(100.0 * AVG(CASE WHEN level IN ('ERROR', 'CRITICAL', 'FATAL') THEN 1.0 ELSE 0.0 END), 2) AS error_pct
FROM processed_logs
WHERE dt BETWEEN :start AND :end
GROUP BY 1
ORDER BY 1
