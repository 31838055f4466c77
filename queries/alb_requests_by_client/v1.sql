-- description: ALB: requests per client IP and verb, most first (AWS's first example query for ALB logs).
-- param: start date
-- param: end date
-- param: n int >= 1 = 100
SELECT COUNT(request_verb) AS count, request_verb, client_ip
FROM alb_logs
WHERE dt BETWEEN :start AND :end
GROUP BY request_verb, client_ip
ORDER BY count DESC, client_ip, request_verb
LIMIT :n
