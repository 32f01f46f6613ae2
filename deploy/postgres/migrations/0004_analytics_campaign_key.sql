-- analytics_minute is keyed by what the events say, campaign included: an event whose campaign
-- is not its ad's in the catalog is contract-valid (the contract cannot know the catalog), and
-- two such rows of one minute × ad × arm × device × geo made the lake job's upsert fail on
-- every replay (found by tests/integration/test_event_agreement.py's fuzzed corpus).
ALTER TABLE analytics_minute DROP CONSTRAINT analytics_minute_pkey,
    ADD PRIMARY KEY (minute, ad_id, campaign_id, experiment, arm, device, geo);
