-- description: Rows per level (the classic tutorial's second query), for one day or for all days.
-- param: day date = null
SELECT level, COUNT(*) AS log_count
FROM processed_logs
WHERE :day IS NULL OR dt = :day
GROUP BY level
ORDER BY log_count DESC, level
