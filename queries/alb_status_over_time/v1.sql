-- description: ALB: requests per time bucket (hour or day) by status class (2xx..5xx), with target latency p50/p90/p99 in seconds.
-- param: start date
-- param: end date
-- param: bucket string = hour
SELECT
  date_trunc(:bucket, event_time) AS bucket_start,
  CAST(CAST(floor(elb_status_code / 100) AS integer) AS varchar) || 'xx' AS status_class,
  COUNT(*) AS requests,
  ROUND(approx_percentile(target_processing_time, 0.5), 3) AS p50,
  ROUND(approx_percentile(target_processing_time, 0.9), 3) AS p90,
  ROUND(approx_percentile(target_processing_time, 0.99), 3) AS p99
FROM alb_logs
WHERE dt BETWEEN :start AND :end AND elb_status_code IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
