-- Experiments as data (issue #22): what adsx experiment create|start|stop|list manage and what
-- adsx serve assigns users by (src/adsx/experiments/assignment.h). An experiment owns layer
-- buckets [first_bucket, first_bucket + bucket_count) of its layer; running experiments of one
-- layer never overlap (checked when one starts); holdout_buckets of the 10,000 arm buckets
-- serve no arm. Each arm names the model registry pointer it serves ({model}/current/{model_arm}).
CREATE TABLE experiments (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    layer           text NOT NULL DEFAULT 'default' CHECK (layer ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    salt            text NOT NULL,
    first_bucket    integer NOT NULL DEFAULT 0,
    bucket_count    integer NOT NULL DEFAULT 10000,
    holdout_buckets integer NOT NULL DEFAULT 0 CHECK (holdout_buckets BETWEEN 0 AND 9999),
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'stopped')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    stopped_at      timestamptz,
    CHECK (first_bucket >= 0 AND bucket_count >= 1 AND first_bucket + bucket_count <= 10000)
);

CREATE TABLE experiment_arms (
    experiment text NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
    position   integer NOT NULL,
    arm        text NOT NULL CHECK (arm ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    weight     double precision NOT NULL CHECK (weight > 0),
    model_arm  text NOT NULL CHECK (model_arm ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    PRIMARY KEY (experiment, arm),
    UNIQUE (experiment, position)
);
