-- description: The N most frequent messages of one level on one day.
-- param: level string
-- param: day date
-- param: n int >= 1 = 10
SELECT message, COUNT(*) AS occurrences
FROM processed_logs
WHERE dt = :day AND level = upper(:level)
GROUP BY message
ORDER BY occurrences DESC, message
LIMIT :n
