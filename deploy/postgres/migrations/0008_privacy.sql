-- Erasure (issue #23): the suppression list and the audit ledger of `adsx privacy erase`.
--
-- Pseudonyms whose data was erased. Every consumer that could bring a user back from a replay
-- or from events still in flight (the stream engine today) consults it: a suppressed user gets
-- no user-level state, as if they had never consented. Holding the pseudonym here is what
-- honouring the erasure requires (GDPR Art. 17 with Art. 6(1)(c)); it says nothing else of them.
CREATE TABLE privacy_suppressed (
    user_id       text        PRIMARY KEY,  -- pseudonym
    suppressed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per erasure request: who asked for whom and when, each store's outcome as it
-- completes ({"redis": {"keys": 1}, "postgres": {"features_user": 3, ...}}), and when a scan of
-- every store found no trace left. A request not yet verified is resumed, not duplicated, by
-- the next `erase` of the same user (one open request per user).
CREATE TABLE privacy_requests (
    id           bigserial   PRIMARY KEY,
    user_id      text        NOT NULL,      -- pseudonym
    source       text        NOT NULL,      -- cli, topic, http
    requested_at timestamptz NOT NULL DEFAULT now(),
    stores       jsonb       NOT NULL DEFAULT '{}',
    completed_at timestamptz,
    verified_at  timestamptz
);
CREATE UNIQUE INDEX privacy_requests_open ON privacy_requests (user_id) WHERE verified_at IS NULL;
