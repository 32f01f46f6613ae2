-- Erasure in the Parquet lake (issue #23): the Spark job adsx_jobs.lake_erase rewrites what holds
-- a suppressed user and, once a second scan finds nothing, stamps each of their requests here
-- (its counts go into `stores` under "lake"). Redis and PostgreSQL are erased and verified by
-- `adsx privacy erase` (verified_at); the lake by the job, which runs while the lake job is not
-- writing (the daily loop runs it after the lake's catch-up).
ALTER TABLE privacy_requests ADD COLUMN lake_erased_at timestamptz;
