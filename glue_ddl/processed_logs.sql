-- processed_logs: one row per valid log line.
-- This file is the single definition of the table's columns: the handler, `loglake catalog apply`
-- and the CloudFormation template all read it. Add a column here (e.g. `user_id string`) and the
-- handler fills it from the same-named JSON field, checking its type.
-- ${PROCESSED_BUCKET} is replaced with the processed bucket's name; ${dt} is Athena's projection.
-- A symlink table: each partition under LOCATION holds one manifest listing the Parquet files of
-- committed rows (under 'loglake.files'), replaced in one PUT per change, so a query never sees
-- an uncommitted attempt, two versions of an object, or a compaction's rows twice
-- (docs/exactly-once.md).
CREATE EXTERNAL TABLE processed_logs (
  event_time  timestamp          COMMENT 'when the event happened, UTC',
  level       string             COMMENT 'TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL or FATAL',
  message     string             COMMENT 'the log message',
  attributes  map<string,string> COMMENT 'every other top-level field; non-strings JSON-encoded',
  source_uri  string             COMMENT 'the raw object this row came from',
  source_line bigint             COMMENT '1-based line number in the raw object',
  ingested_at timestamp          COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/processed/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/processed/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/processed/dt=${dt}/'
);
