-- Every alert event (firing and resolved) Vigil emits, for alert history
-- and time to resolve. The well-known alert attributes get their own columns
-- so history queries need no map lookups; all attributes stay in Attributes.
CREATE TABLE IF NOT EXISTS {{local .Alerts}}{{.OnCluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    Fingerprint String CODEC(ZSTD(1)),
    AlertName LowCardinality(String) CODEC(ZSTD(1)),
    State LowCardinality(String) CODEC(ZSTD(1)),
    Severity LowCardinality(String) CODEC(ZSTD(1)),
    Source LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    SLOName LowCardinality(String) CODEC(ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    INDEX idx_fingerprint Fingerprint TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(8192, 3, 0) GRANULARITY 8
) ENGINE = {{engine "MergeTree"}}
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, AlertName, Fingerprint, Timestamp)
{{ttl "toDateTime(Timestamp)" .AlertsTTL}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
{{distributed .Alerts}}
