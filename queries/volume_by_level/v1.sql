-- description: Valid rows per time bucket (hour or day) and level, for a date range: the log-volume histogram.
-- param: start date
-- param: end date
-- param: bucket string = hour
SELECT date_trunc(:bucket, event_time) AS bucket_start, level, COUNT(*) AS row_count
FROM processed_logs
WHERE dt BETWEEN :start AND :end
GROUP BY 1, 2
ORDER BY 1, 2
