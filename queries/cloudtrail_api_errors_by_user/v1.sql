-- description: CloudTrail: failed API calls per user, event and error code (AWS's example query), most first.
-- param: start date
-- param: end date
SELECT useridentity.arn AS user_arn, eventname, errorcode, COUNT(*) AS calls
FROM cloudtrail_logs
WHERE dt BETWEEN :start AND :end AND errorcode IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY calls DESC, user_arn, eventname
