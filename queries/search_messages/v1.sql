-- description: Rows whose message matches a regular expression (a plain word is a substring search), for a date range.
-- param: start date
-- param: end date
-- param: pattern string
-- param: limit int >= 1 = 100
SELECT event_time, level, message, source_uri, source_line
FROM processed_logs
WHERE dt BETWEEN :start AND :end AND regexp_like(message, :pattern)
ORDER BY event_time, source_uri, source_line
LIMIT :limit
