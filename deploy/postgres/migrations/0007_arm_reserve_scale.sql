-- An experiment arm may change a ranking parameter as well as the models (issue #22): the
-- multiplier it applies to every placement's reserve eCPM ([serve] reserve_ecpm), for reserve
-- price tests. 1 = the configured reserves.
ALTER TABLE experiment_arms
    ADD COLUMN reserve_scale double precision NOT NULL DEFAULT 1 CHECK (reserve_scale > 0);
