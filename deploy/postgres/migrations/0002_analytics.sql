-- Streaming analytics: valid events counted per minute × ad × experiment arm × device × geo,
-- written by the lake job (python/adsx_jobs/lake.py) from each Spark micro-batch. Money in
-- the currency units of the events (spend = sum of price, revenue of conversions).
CREATE TABLE analytics_minute (
    minute      timestamptz   NOT NULL,
    ad_id       integer       NOT NULL CHECK (ad_id > 0),
    campaign_id integer       NOT NULL CHECK (campaign_id > 0),
    experiment  text          NOT NULL DEFAULT '',   -- '' = not in an experiment
    arm         text          NOT NULL DEFAULT '',
    device      text          NOT NULL,
    geo         text          NOT NULL,
    impressions bigint        NOT NULL CHECK (impressions >= 0),
    clicks      bigint        NOT NULL CHECK (clicks >= 0),
    conversions bigint        NOT NULL CHECK (conversions >= 0),
    spend       numeric(20,6) NOT NULL CHECK (spend >= 0),
    revenue     numeric(20,6) NOT NULL CHECK (revenue >= 0),
    PRIMARY KEY (minute, ad_id, experiment, arm, device, geo)
);
CREATE INDEX analytics_minute_campaign ON analytics_minute (campaign_id, minute);

-- The micro-batches applied to analytics_minute, in the same transaction as their rows: a
-- batch Spark replays after a crash is recognised and skipped (exactly-once effect).
CREATE TABLE analytics_batches (
    query      text        NOT NULL,
    batch_id   bigint      NOT NULL,
    rows       integer     NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (query, batch_id)
);
