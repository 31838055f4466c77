-- description: S3 server access logs: requests per requester and operation, most first.
-- param: start date
-- param: end date
SELECT requester, operation, COUNT(*) AS requests
FROM s3_access_logs
WHERE dt BETWEEN :start AND :end
GROUP BY requester, operation
ORDER BY requests DESC, requester, operation
