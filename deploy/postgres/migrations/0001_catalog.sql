-- The ad catalog: advertisers -> campaigns -> ads, with targeting, budgets and flights.
-- Written by `adsx generate` (the simulated world) and read by serving for inventory and by
-- the stream engine to reject events for unknown ads. The ground truth stays hidden.
CREATE TABLE advertisers (
    advertiser_id integer PRIMARY KEY CHECK (advertiser_id > 0),
    name          text    NOT NULL
);

CREATE TABLE campaigns (
    campaign_id     integer       PRIMARY KEY CHECK (campaign_id > 0),
    advertiser_id   integer       NOT NULL REFERENCES advertisers,
    category        text          NOT NULL,
    bid_type        text          NOT NULL CHECK (bid_type IN ('CPM', 'CPC', 'CPA')),
    bid             numeric(12,4) NOT NULL CHECK (bid >= 0),
    daily_budget    numeric(14,2) NOT NULL CHECK (daily_budget >= 0),
    lifetime_budget numeric(14,2) NOT NULL CHECK (lifetime_budget >= 0),
    flight_start    date          NOT NULL,
    flight_end      date          NOT NULL CHECK (flight_end > flight_start),  -- exclusive
    priority        smallint      NOT NULL CHECK (priority BETWEEN 1 AND 3),   -- 1 = highest
    frequency_cap   smallint      NOT NULL CHECK (frequency_cap > 0),         -- per user per day
    target_geos     text[]        NOT NULL,  -- ISO country-region codes
    target_devices  text[]        NOT NULL   -- ios | android | desktop | ctv
);
CREATE INDEX campaigns_advertiser ON campaigns (advertiser_id);

CREATE TABLE ads (
    ad_id             integer PRIMARY KEY CHECK (ad_id > 0),
    campaign_id       integer NOT NULL REFERENCES campaigns,
    creative_category text    NOT NULL
);
CREATE INDEX ads_campaign ON ads (campaign_id);

-- Which world the catalog describes (one row).
CREATE TABLE catalog_source (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    seed       bigint      NOT NULL,
    start_date date        NOT NULL,
    days       integer     NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
