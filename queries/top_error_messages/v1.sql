-- description: The N most frequent messages at ERROR and above (ERROR, CRITICAL, FATAL) with their level, for a date range.
-- param: start date
-- param: end date
-- param: n int >= 1 = 10
SELECT level, message, COUNT(*) AS occurrences
FROM processed_logs
WHERE dt BETWEEN :start AND :end AND level IN ('ERROR', 'CRITICAL', 'FATAL')
GROUP BY level, message
ORDER BY occurrences DESC, level, message
LIMIT :n
