-- description: Route 53 Resolver: queries per name and response code, most first.
-- param: start date
-- param: end date
-- param: n int >= 1 = 20
SELECT query_name, rcode, COUNT(*) AS queries
FROM route53_resolver_logs
WHERE dt BETWEEN :start AND :end
GROUP BY query_name, rcode
ORDER BY queries DESC, query_name
LIMIT :n
