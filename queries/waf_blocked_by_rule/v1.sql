-- description: AWS WAF: blocked requests per terminating rule and client country, most first.
-- param: start date
-- param: end date
SELECT terminatingruleid, httprequest.country AS country, COUNT(*) AS blocked
FROM waf_logs
WHERE dt BETWEEN :start AND :end AND action = 'BLOCK'
GROUP BY 1, 2
ORDER BY blocked DESC, terminatingruleid, country
