-- alb_logs: Application Load Balancer access logs; columns of AWS's Athena table (alb_access_logs).
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE alb_logs (
  type                     string,
  time                     string,
  elb                      string,
  client_ip                string,
  client_port              int,
  target_ip                string,
  target_port              int,
  request_processing_time  double,
  target_processing_time   double,
  response_processing_time double,
  elb_status_code          int,
  target_status_code       string,
  received_bytes           bigint,
  sent_bytes               bigint,
  request_verb             string,
  request_url              string,
  request_proto            string,
  user_agent               string,
  ssl_cipher               string,
  ssl_protocol             string,
  target_group_arn         string,
  trace_id                 string,
  domain_name              string,
  chosen_cert_arn          string,
  matched_rule_priority    string,
  request_creation_time    string,
  actions_executed         string,
  redirect_url             string,
  lambda_error_reason      string,
  target_port_list         string,
  target_status_code_list  string,
  classification           string,
  classification_reason    string,
  conn_trace_id            string,
  transformed_host         string,
  transformed_uri          string,
  request_transform_status string,
  new_fields               string    COMMENT 'fields after the known ones, as read: AWS adds fields',
  event_time               timestamp COMMENT 'when the request came, from time, UTC',
  log_account_id           string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region               string    COMMENT 'the region in the object key',
  source_uri               string    COMMENT 'the raw object this row came from',
  source_line              bigint    COMMENT '1-based line number in the raw object',
  ingested_at              timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/alb_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/alb_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/alb_logs/dt=${dt}/'
);
