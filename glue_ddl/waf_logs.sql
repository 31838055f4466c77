-- waf_logs: AWS WAF web ACL logs, one JSON record per line; columns of AWS's Athena table (waf_logs).
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE waf_logs (
  `timestamp`                     bigint,
  formatversion                   int,
  webaclid                        string,
  terminatingruleid               string,
  terminatingruletype             string,
  action                          string,
  terminatingrulematchdetails     array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>,
  httpsourcename                  string,
  httpsourceid                    string,
  rulegrouplist                   array<struct<rulegroupid:string,terminatingrule:struct<ruleid:string,action:string,rulematchdetails:array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>>,nonterminatingmatchingrules:array<struct<ruleid:string,action:string,overriddenaction:string,rulematchdetails:array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>,challengeresponse:struct<responsecode:string,solvetimestamp:string>,captcharesponse:struct<responsecode:string,solvetimestamp:string>>>,excludedrules:string>>,
  ratebasedrulelist               array<struct<ratebasedruleid:string,limitkey:string,maxrateallowed:int>>,
  nonterminatingmatchingrules     array<struct<ruleid:string,action:string,rulematchdetails:array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>,challengeresponse:struct<responsecode:string,solvetimestamp:string>,captcharesponse:struct<responsecode:string,solvetimestamp:string>>>,
  requestheadersinserted          array<struct<name:string,value:string>>,
  responsecodesent                string,
  httprequest                     struct<clientip:string,country:string,headers:array<struct<name:string,value:string>>,uri:string,args:string,httpversion:string,httpmethod:string,requestid:string,fragment:string,scheme:string,host:string>,
  labels                          array<struct<name:string>>,
  captcharesponse                 struct<responsecode:string,solvetimestamp:string,failurereason:string>,
  challengeresponse               struct<responsecode:string,solvetimestamp:string,failurereason:string>,
  ja3fingerprint                  string,
  ja4fingerprint                  string,
  oversizefields                  string,
  requestbodysize                 int,
  requestbodysizeinspectedbywaf   int,
  new_fields                      string    COMMENT 'fields no column names, as one JSON object: AWS adds fields',
  event_time                      timestamp COMMENT 'when the request came, from timestamp in ms, UTC',
  log_account_id                  string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region                      string    COMMENT 'the region in the object key',
  source_uri                      string    COMMENT 'the raw object this row came from',
  source_line                     bigint    COMMENT '1-based line number in the raw object',
  ingested_at                     timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/waf_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/waf_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/waf_logs/dt=${dt}/'
);
