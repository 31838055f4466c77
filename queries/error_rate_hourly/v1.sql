-- description: Per hour: all rows, ERROR/CRITICAL/FATAL rows and their share, for a date range.
-- param: start date
-- param: end date
SELECT
  date_trunc('hour', event_time) AS hour,
  COUNT(*) AS total,
  COUNT_IF(level IN ('ERROR', 'CRITICAL', 'FATAL')) AS errors,
  ROUND(CAST(COUNT_IF(level IN ('ERROR', 'CRITICAL', 'FATAL')) AS double) / COUNT(*), 4) AS error_rate
FROM processed_logs
WHERE dt BETWEEN :start AND :end
GROUP BY 1
ORDER BY 1
