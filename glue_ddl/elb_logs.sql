-- elb_logs: Classic Load Balancer access logs; columns of AWS's Athena table (elb_logs).
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE elb_logs (
  request_timestamp       string,
  elb_name                string,
  request_ip              string,
  request_port            int,
  backend_ip              string,
  backend_port            int,
  request_processing_time double,
  backend_processing_time double,
  client_response_time    double,
  elb_response_code       string,
  backend_response_code   string,
  received_bytes          bigint,
  sent_bytes              bigint,
  request_verb            string,
  url                     string,
  protocol                string,
  user_agent              string,
  ssl_cipher              string,
  ssl_protocol            string,
  new_fields              string    COMMENT 'fields after the known ones, as read: AWS adds fields',
  event_time              timestamp COMMENT 'when the request came, from request_timestamp, UTC',
  log_account_id          string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region              string    COMMENT 'the region in the object key',
  source_uri              string    COMMENT 'the raw object this row came from',
  source_line             bigint    COMMENT '1-based line number in the raw object',
  ingested_at             timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/elb_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/elb_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/elb_logs/dt=${dt}/'
);
