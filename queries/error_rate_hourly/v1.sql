-- description: Per hour: all rows, ERROR/CRITICAL/FATAL rows and their share, for a date range.
-- param: start date
-- param: end date
SELECT
  date_trunc('hour', event_time) AS hour,
  COUNT(*) AS total,
  SUM(CASE WHEN level IN ('ERROR', 'CRITICAL', 'FATAL') THEN 1 ELSE 0 END) AS errors,
  ROUND(AVG(CASE WHEN level IN ('ERROR', 'CRITICAL', 'FATAL') THEN 1.0 ELSE 0.0 END), 4) AS error_rate
FROM processed_logs
WHERE dt BETWEEN :start AND :end
GROUP BY 1
ORDER BY 1
