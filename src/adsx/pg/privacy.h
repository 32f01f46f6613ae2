#pragma once
// Erasure's PostgreSQL side (migration 0008): the suppression list, the audit ledger, and the
// user rows of every table that holds a user id.
//
//   auto req = pg::open_erasure(conn, "k1:…", "cli");        // suppresses, opens or resumes
//   auto n = pg::erase_user_rows(conn, "k1:…");              // {table: rows deleted}
//   pg::record_store(conn, req->id, "postgres", json);       // the ledger, store by store
//   auto left = pg::user_traces(conn, "k1:…");               // {table: rows still there}
//   pg::mark_verified(conn, req->id);
//   auto feed = pg::suppression_feed::start(cfg.postgres, list, 5s);   // keeps `list` current
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/pg/connection.h"
#include "adsx/privacy/suppression.h"

namespace adsx::pg {

// Every table that holds a user id, in the column user_id, with the column that dates its rows:
// the ones erasure empties of a user, verification scans and retention trims. A test holds it
// equal to the tables the migrations create with a user_id column (so a new one cannot be
// forgotten), the privacy tables themselves excepted.
struct user_table
{
    std::string_view name;
    std::string_view date_column;
};
[[nodiscard]] std::span<const user_table> user_tables() noexcept;

struct erasure_request
{
    std::int64_t id = 0;
    bool resumed = false;  // an earlier request for the user had not been verified
    bool done = false;     // the request named by `key` was verified already: nothing to do
};

// Puts `user` (a pseudonym) on the suppression list and opens its ledger row, or returns the
// open one (a crash half-way, or a second request meanwhile), in one transaction. `key` (the
// id a request carries on the requests topic, "" for none) finds the row of that request first,
// done or not, so a record read twice is one request.
[[nodiscard]] result<erasure_request> open_erasure(connection& c, const std::string& user,
                                                   const std::string& source,
                                                   const std::string& key = {});
// Request `id`'s ledger row as JSON: request_id, user_id, source, requested_at, stores,
// completed_at, verified_at, lake_erased_at (not_found when none).
[[nodiscard]] result<std::string> erasure_json(connection& c, std::int64_t id);

// Where the lake's part of a user's erasure stands (migration 0010): the Spark job
// adsx_jobs.lake_erase rewrites the lake and stamps every request of the user it covered.
struct lake_erasure
{
    bool requested = false;  // any erasure request of the user
    bool pending = false;    // one whose lake rewrite has not run yet
    std::string last;        // when the newest rewrite ran ("" when none)
};
[[nodiscard]] result<lake_erasure> lake_state(connection& c, const std::string& user);

// Kafka's part: each request records, once no producer can write the user any more, the end
// offset of every partition of the raw topics (stores.kafka: {"at_ms", "horizon": {topic:
// {partition: offset}}}). Every record of the user is below it; once retention has moved a
// partition's low watermark up to it, none is left there. The highest per partition over the
// user's requests, and when the newest was taken (0 when none).
struct kafka_horizon
{
    std::map<std::string, std::map<int, std::int64_t>> offsets;  // topic -> partition -> offset
    std::int64_t at_ms = 0;
};
[[nodiscard]] result<kafka_horizon> kafka_horizon_of(connection& c, const std::string& user);
// Where the privacy worker stands in `topic` (partition -> next offset), and its move, stored
// once the requests before are done.
[[nodiscard]] result<std::map<int, std::int64_t>> worker_offsets(connection& c,
                                                                 const std::string& topic);
[[nodiscard]] result<void> store_worker_offsets(connection& c, const std::string& topic,
                                                const std::map<int, std::int64_t>& next);
// Deletes the user's rows from every user table in one transaction: rows deleted per table.
[[nodiscard]] result<std::map<std::string, std::int64_t>> erase_user_rows(connection& c,
                                                                          const std::string& user);
// Rows of the user left per user table (tables without any left out).
[[nodiscard]] result<std::map<std::string, std::int64_t>> user_traces(connection& c,
                                                                      const std::string& user);
// Records a store's outcome (a JSON value) in request `id`'s ledger row.
[[nodiscard]] result<void> record_store(connection& c, std::int64_t id, const std::string& store,
                                        const std::string& outcome_json);
// Every store done: completed_at; a scan found nothing left: verified_at (which closes it).
[[nodiscard]] result<void> mark_completed(connection& c, std::int64_t id);
[[nodiscard]] result<void> mark_verified(connection& c, std::int64_t id);
// Retention: rows of the user tables dated before `cutoff` (YYYY-MM-DD), per table; and their
// deletion in one transaction (rows deleted per table).
[[nodiscard]] result<std::map<std::string, std::int64_t>> rows_before(connection& c,
                                                                      const std::string& cutoff);
[[nodiscard]] result<std::map<std::string, std::int64_t>> delete_rows_before(
    connection& c, const std::string& cutoff);

// The suppression list, whole.
[[nodiscard]] result<std::vector<std::string>> suppressed_users(connection& c);

// Keeps `list` equal to the suppression list: loaded once by start() (which fails if it cannot
// be), then every `every` on a thread of its own, whose failures are logged and keep the last
// list (the connection is opened again at the next round). Stops with the object.
class suppression_feed
{
public:
    [[nodiscard]] static result<std::unique_ptr<suppression_feed>> start(
        const config::postgres_config& cfg, privacy::suppression_list& list,
        std::chrono::milliseconds every);
    suppression_feed(const suppression_feed&) = delete;
    suppression_feed& operator=(const suppression_feed&) = delete;
    ~suppression_feed();

private:
    suppression_feed(const config::postgres_config& cfg, privacy::suppression_list& list,
                     std::chrono::milliseconds every, connection c);
    void run();

    config::postgres_config _cfg;
    privacy::suppression_list& _list;
    std::chrono::milliseconds _every;
    std::optional<connection> _conn;
    std::mutex _mutex;
    std::condition_variable _wake;
    bool _stopping = false;
    std::thread _thread;
};

}  // namespace adsx::pg
