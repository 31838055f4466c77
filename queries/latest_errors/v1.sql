-- description: Newest invalid lines with their reason (the classic tutorial's third query).
-- param: limit int >= 1 = 10
SELECT ingested_at, error_code, error_detail, source_uri, source_line, raw_line, dt
FROM errors_logs
ORDER BY ingested_at DESC, source_uri, source_line
LIMIT :limit
