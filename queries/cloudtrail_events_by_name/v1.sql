-- description: CloudTrail: the most frequent events, by event name and error code (none for calls that succeeded).
-- param: start date
-- param: end date
-- param: n int >= 1 = 15
SELECT eventname, COALESCE(errorcode, 'none') AS errorcode, COUNT(*) AS events
FROM cloudtrail_logs
WHERE dt BETWEEN :start AND :end
GROUP BY 1, 2
ORDER BY events DESC, eventname, errorcode
LIMIT :n
