-- Daily batch features (python/adsx_jobs/daily.py), one table per feature view, one row per
-- key and date: the features as of the end of that day (as_of_ms, UTC). The job replaces a
-- date's rows in one transaction. Windows: *_7d = the 7 days up to and including `date`.
CREATE TABLE features_user (
    date               date             NOT NULL,
    user_id            text             NOT NULL,   -- pseudonym; consenting users only
    as_of_ms           bigint           NOT NULL,
    impressions_7d     bigint           NOT NULL,
    clicks_7d          bigint           NOT NULL,
    conversions_7d     bigint           NOT NULL,
    ctr_7d             double precision NOT NULL,   -- smoothed: (clicks + 3) / (impressions + 200)
    cvr_7d             double precision,            -- conversions / clicks; null without clicks
    revenue_7d         double precision NOT NULL,
    lifetime_value     double precision NOT NULL,   -- revenue up to `date`
    impressions_by_hour bigint[]        NOT NULL,   -- 24 UTC hour-of-day buckets, 7 days
    clicks_by_hour     bigint[]         NOT NULL,
    last_impression_ms bigint,
    last_click_ms      bigint,
    PRIMARY KEY (date, user_id)
);

CREATE TABLE features_ad (
    date           date             NOT NULL,
    ad_id          bigint           NOT NULL,
    campaign_id    bigint           NOT NULL,
    as_of_ms       bigint           NOT NULL,
    impressions_7d bigint           NOT NULL,
    clicks_7d      bigint           NOT NULL,
    conversions_7d bigint           NOT NULL,
    ctr_7d         double precision NOT NULL,
    cvr_7d         double precision,
    spend_7d       double precision NOT NULL,
    revenue_7d     double precision NOT NULL,
    roas_7d        double precision,            -- revenue / spend
    cpa_7d         double precision,            -- spend / conversions
    spend_today    double precision NOT NULL,
    PRIMARY KEY (date, ad_id)
);

CREATE TABLE features_campaign (
    date           date             NOT NULL,
    campaign_id    bigint           NOT NULL,
    as_of_ms       bigint           NOT NULL,
    impressions_7d bigint           NOT NULL,
    clicks_7d      bigint           NOT NULL,
    conversions_7d bigint           NOT NULL,
    ctr_7d         double precision NOT NULL,
    cvr_7d         double precision,
    spend_7d       double precision NOT NULL,
    revenue_7d     double precision NOT NULL,
    roas_7d        double precision,
    cpa_7d         double precision,
    spend_today    double precision NOT NULL,
    pacing         double precision,            -- spend today / daily budget
    PRIMARY KEY (date, campaign_id)
);

CREATE TABLE features_ad_device (
    date           date             NOT NULL,
    ad_id          bigint           NOT NULL,
    device         text             NOT NULL,
    as_of_ms       bigint           NOT NULL,
    impressions_7d bigint           NOT NULL,
    clicks_7d      bigint           NOT NULL,
    ctr_7d         double precision NOT NULL,
    PRIMARY KEY (date, ad_id, device)
);

CREATE TABLE features_ad_geo (
    date           date             NOT NULL,
    ad_id          bigint           NOT NULL,
    geo            text             NOT NULL,
    as_of_ms       bigint           NOT NULL,
    impressions_7d bigint           NOT NULL,
    clicks_7d      bigint           NOT NULL,
    ctr_7d         double precision NOT NULL,
    PRIMARY KEY (date, ad_id, geo)
);
