-- description: Invalid lines per time bucket (hour or day, of when they were ingested) and error code, for upload dates in a range.
-- param: start date
-- param: end date
-- param: bucket string = hour
SELECT date_trunc(:bucket, ingested_at) AS bucket_start, error_code, COUNT(*) AS lines
FROM errors_logs
WHERE dt BETWEEN :start AND :end
GROUP BY 1, 2
ORDER BY 1, 2
