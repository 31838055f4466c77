-- description: Ingestion lag (ingested_at minus event_time, in seconds): p50, p90, p99 and max per time bucket (hour or day) of event time, for a date range.
-- param: start date
-- param: end date
-- param: bucket string = hour
SELECT
  date_trunc(:bucket, event_time) AS bucket_start,
  COUNT(*) AS row_count,
  approx_percentile(lag_s, 0.5) AS p50_s,
  approx_percentile(lag_s, 0.9) AS p90_s,
  approx_percentile(lag_s, 0.99) AS p99_s,
  MAX(lag_s) AS max_s
FROM (
  SELECT event_time, date_diff('second', event_time, ingested_at) AS lag_s
  FROM processed_logs
  WHERE dt BETWEEN :start AND :end
) AS lags
GROUP BY 1
ORDER BY 1
