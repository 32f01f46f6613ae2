-- The closed loop and experiment results (issue #22).
--
-- catalog_source gains the world's size, so that `adsx simulate` rebuilds the very world whose
-- catalog is loaded (seed, users, advertisers, days) and its virtual users are real users of it.
ALTER TABLE catalog_source
    ADD COLUMN users       integer CHECK (users > 0),
    ADD COLUMN advertisers integer CHECK (advertisers > 0);

-- Per-user, per-day totals of ad.events, written by `adsx experiment collect`: the unit of every
-- experiment statistic (src/adsx/experiments/analysis.h). experiment = '' and arm = '' hold the
-- user's traffic outside any experiment: before an experiment starts, that is the pre-period
-- CUPED adjusts by. device and geo are the user's first seen on that row (for breakdowns).
CREATE TABLE experiment_user_days (
    experiment  text             NOT NULL,
    arm         text             NOT NULL,
    user_id     text             NOT NULL,
    day         date             NOT NULL,
    device      text             NOT NULL,
    geo         text             NOT NULL,
    impressions bigint           NOT NULL DEFAULT 0,
    clicks      bigint           NOT NULL DEFAULT 0,
    conversions bigint           NOT NULL DEFAULT 0,
    revenue     double precision NOT NULL DEFAULT 0,
    spend       double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (experiment, arm, user_id, day)
);
CREATE INDEX experiment_user_days_user ON experiment_user_days (user_id, day);

-- Where `adsx experiment collect` is in each partition of the events topic, committed in the
-- same transaction as the totals above: a replay or a restart never counts an event twice.
CREATE TABLE experiment_offsets (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);
