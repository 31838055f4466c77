-- description: Newest valid rows (the classic tutorial's first query), newest first.
-- param: limit int >= 1 = 10
SELECT event_time, level, message, attributes, source_uri, source_line, dt
FROM processed_logs
ORDER BY event_time DESC, source_uri, source_line
LIMIT :limit
