-- description: p50/p95/p99 of a numeric attribute (e.g. latency_ms) per hour, for a date range.
-- param: start date
-- param: end date
-- param: attribute string = latency_ms
SELECT
  date_trunc('hour', event_time) AS hour,
  COUNT(*) AS samples,
  approx_percentile(value, 0.5) AS p50,
  approx_percentile(value, 0.95) AS p95,
  approx_percentile(value, 0.99) AS p99
FROM (
  SELECT event_time, TRY_CAST(element_at(attributes, :attribute) AS double) AS value
  FROM processed_logs
  WHERE dt BETWEEN :start AND :end
) AS samples
WHERE value IS NOT NULL
GROUP BY 1
ORDER BY 1
