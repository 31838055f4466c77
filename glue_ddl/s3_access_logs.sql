-- s3_access_logs: Amazon S3 server access logs; columns of AWS's Athena table.
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE s3_access_logs (
  bucketowner     string,
  bucket_name     string,
  requestdatetime string,
  remoteip        string,
  requester       string,
  requestid       string,
  operation       string,
  key             string,
  request_uri     string,
  httpstatus      string,
  errorcode       string,
  bytessent       bigint,
  objectsize      bigint,
  totaltime       string,
  turnaroundtime  string,
  referrer        string,
  useragent       string,
  versionid       string,
  hostid          string,
  sigv            string,
  ciphersuite     string,
  authtype        string,
  endpoint        string,
  tlsversion      string,
  accesspointarn  string,
  aclrequired     string,
  new_fields      string    COMMENT 'fields after the known ones, as read: AWS adds fields',
  event_time      timestamp COMMENT 'when the request came, from requestdatetime, UTC',
  log_account_id  string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region      string    COMMENT 'the region in the object key',
  source_uri      string    COMMENT 'the raw object this row came from',
  source_line     bigint    COMMENT '1-based line number in the raw object',
  ingested_at     timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/s3_access_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/s3_access_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/s3_access_logs/dt=${dt}/'
);
