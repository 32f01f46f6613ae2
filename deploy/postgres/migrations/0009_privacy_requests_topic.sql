-- Erasure requests as records (issue #23): `adsx privacy worker` reads them from the
-- privacy.requests topic, and `POST /admin/privacy/erasures` queues them there.
--
-- The id the request carries on the topic (a UUID): a record read again after a crash finds
-- its ledger row, done or not, instead of opening a second request for the same user.
ALTER TABLE privacy_requests ADD COLUMN request_key text UNIQUE;

-- Where the worker stands in the requests topic: the next offset of each partition, stored after
-- the requests before it are verified. Requests are idempotent by request_key, so a crash
-- between the two only makes the worker find them done.
CREATE TABLE privacy_worker_offsets (
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
