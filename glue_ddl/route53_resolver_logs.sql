-- route53_resolver_logs: Route 53 Resolver query logs, one JSON record per line; columns of AWS's Athena table (r53_rlogs).
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE route53_resolver_logs (
  version                   string,
  account_id                string,
  region                    string,
  vpc_id                    string,
  query_timestamp           string,
  query_name                string,
  query_type                string,
  query_class               string,
  rcode                     string,
  answers                   array<struct<rdata:string,type:string,class:string>>,
  srcaddr                   string,
  srcport                   int,
  transport                 string,
  srcids                    struct<instance:string,resolver_endpoint:string>,
  firewall_rule_action      string,
  firewall_rule_group_id    string,
  firewall_domain_list_id   string,
  new_fields                string    COMMENT 'fields no column names, as one JSON object: AWS adds fields',
  event_time                timestamp COMMENT 'when the query was answered, from query_timestamp, UTC',
  log_account_id            string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region                string    COMMENT 'the region in the object key',
  source_uri                string    COMMENT 'the raw object this row came from',
  source_line               bigint    COMMENT '1-based line number in the raw object',
  ingested_at               timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/route53_resolver_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/route53_resolver_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/route53_resolver_logs/dt=${dt}/'
);
