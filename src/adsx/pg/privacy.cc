#include "adsx/pg/privacy.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "adsx/log/log.h"

namespace adsx::pg {

namespace {

constexpr std::array<user_table, 2> tables = {
    {{"features_user", "date"}, {"experiment_user_days", "day"}}};

using counts = std::map<std::string, std::int64_t>;

// Each user table's rows WHERE `where(table)` ($1 = `param`): counted, or deleted (`remove`) in
// one transaction, rows per table.
template <class Where>
result<counts> rows_where(connection& c, Where where, const std::string& param, bool remove)
{
    counts n;
    auto each = [&]() -> result<void> {
        for (const auto& t : tables) {
            const auto match = fmt::format("{} WHERE {}", t.name, where(t));
            auto rows = c.scalar(
                remove ? fmt::format(
                             "WITH d AS (DELETE FROM {} RETURNING 1) SELECT count(*) FROM d", match)
                       : fmt::format("SELECT count(*) FROM {}", match),
                {param});
            if (!rows) {
                return fail(rows.error());
            }
            n[std::string(t.name)] = std::stoll(*rows);
        }
        return {};
    };
    if (auto r = remove ? transaction(c, each) : each(); !r) {
        return fail(r.error());
    }
    return n;
}

std::string of_user(const user_table&)
{
    return "user_id = $1";
}

std::string dated_before(const user_table& t)
{
    return fmt::format("{} < $1::date", t.date_column);
}

}  // namespace

std::span<const user_table> user_tables() noexcept
{
    return tables;
}

result<erasure_request> open_erasure(connection& c, const std::string& user,
                                     const std::string& source, const std::string& key)
{
    erasure_request req;
    auto opened = transaction(c, [&]() -> result<void> {
        if (!key.empty()) {
            auto known = c.query(
                "SELECT id, verified_at IS NOT NULL FROM privacy_requests WHERE request_key = $1",
                {key});
            if (!known) {
                return fail(known.error());
            }
            if (!known->empty()) {
                req = {.id = std::stoll(*(*known)[0][0]),
                       .resumed = true,
                       .done = *(*known)[0][1] == "t"};
                return {};
            }
        }
        if (auto r = c.query("INSERT INTO privacy_suppressed (user_id) VALUES ($1) "
                             "ON CONFLICT (user_id) DO NOTHING",
                             {user});
            !r) {
            return fail(r.error());
        }
        // The open request, if any, else a new one; the unique index on open requests makes a
        // concurrent second insert fail rather than duplicate.
        auto open = c.query(
            "SELECT id FROM privacy_requests WHERE user_id = $1 AND verified_at IS NULL", {user});
        if (!open) {
            return fail(open.error());
        }
        if (!open->empty()) {
            req = {.id = std::stoll(*(*open)[0][0]), .resumed = true};
            return {};
        }
        auto id = c.scalar("INSERT INTO privacy_requests (user_id, source, request_key) "
                           "VALUES ($1, $2, NULLIF($3, '')) RETURNING id",
                           {user, source, key});
        if (!id) {
            return fail(id.error());
        }
        req.id = std::stoll(*id);
        return {};
    });
    if (!opened) {
        return fail(opened.error());
    }
    return req;
}

result<std::string> erasure_json(connection& c, std::int64_t id)
{
    auto rows = c.query("SELECT json_build_object('request_id', id, 'user_id', user_id, "
                        "'source', source, 'requested_at', requested_at, 'stores', stores, "
                        "'completed_at', completed_at, 'verified_at', verified_at, "
                        "'lake_erased_at', lake_erased_at)::text "
                        "FROM privacy_requests WHERE id = $1",
                        {std::to_string(id)});
    if (!rows) {
        return fail(rows.error());
    }
    if (rows->empty()) {
        return fail(error_code::not_found, fmt::format("no erasure request {}", id));
    }
    return std::move(*(*rows)[0][0]);
}

result<std::map<int, std::int64_t>> worker_offsets(connection& c, const std::string& topic)
{
    auto rows = c.query(
        "SELECT partition, next_offset FROM privacy_worker_offsets WHERE topic = $1", {topic});
    if (!rows) {
        return fail(rows.error());
    }
    std::map<int, std::int64_t> out;
    for (const auto& row : *rows) {
        out[std::stoi(*row[0])] = std::stoll(*row[1]);
    }
    return out;
}

result<void> store_worker_offsets(connection& c, const std::string& topic,
                                  const std::map<int, std::int64_t>& next)
{
    return transaction(c, [&]() -> result<void> {
        for (const auto& [partition, offset] : next) {
            auto r = c.query("INSERT INTO privacy_worker_offsets VALUES ($1, $2, $3) "
                             "ON CONFLICT (topic, partition) DO UPDATE SET next_offset = $3",
                             {topic, std::to_string(partition), std::to_string(offset)});
            if (!r) {
                return fail(r.error());
            }
        }
        return {};
    });
}

result<counts> erase_user_rows(connection& c, const std::string& user)
{
    return rows_where(c, of_user, user, true);
}

result<counts> user_traces(connection& c, const std::string& user)
{
    auto n = rows_where(c, of_user, user, false);
    if (n) {
        std::erase_if(*n, [](const auto& kv) { return kv.second == 0; });
    }
    return n;
}

result<counts> rows_before(connection& c, const std::string& cutoff)
{
    return rows_where(c, dated_before, cutoff, false);
}

result<counts> delete_rows_before(connection& c, const std::string& cutoff)
{
    return rows_where(c, dated_before, cutoff, true);
}

result<void> record_store(connection& c, std::int64_t id, const std::string& store,
                          const std::string& outcome_json)
{
    auto r = c.query("UPDATE privacy_requests SET stores = stores || jsonb_build_object($2::text, "
                     "$3::jsonb) WHERE id = $1",
                     {std::to_string(id), store, outcome_json});
    return r ? result<void>{} : fail(r.error());
}

result<void> mark_completed(connection& c, std::int64_t id)
{
    auto r = c.query("UPDATE privacy_requests SET completed_at = now() WHERE id = $1",
                     {std::to_string(id)});
    return r ? result<void>{} : fail(r.error());
}

result<lake_erasure> lake_state(connection& c, const std::string& user)
{
    auto rows = c.query("SELECT count(*), count(*) FILTER (WHERE lake_erased_at IS NULL), "
                        "max(lake_erased_at)::text FROM privacy_requests WHERE user_id = $1",
                        {user});
    if (!rows) {
        return fail(rows.error());
    }
    const auto& row = (*rows)[0];
    return lake_erasure{std::stoll(*row[0]) > 0, std::stoll(*row[1]) > 0, row[2].value_or("")};
}

result<kafka_horizon> kafka_horizon_of(connection& c, const std::string& user)
{
    auto rows = c.query(
        "SELECT t.key, p.key, max(p.value::bigint), max((r.stores->'kafka'->>'at_ms')::bigint) "
        "FROM privacy_requests r, jsonb_each(r.stores->'kafka'->'horizon') t, "
        "jsonb_each_text(t.value) p WHERE r.user_id = $1 GROUP BY 1, 2",
        {user});
    if (!rows) {
        return fail(rows.error());
    }
    kafka_horizon out;
    for (const auto& row : *rows) {
        out.offsets[*row[0]][std::stoi(*row[1])] = std::stoll(*row[2]);
        out.at_ms = std::max<std::int64_t>(out.at_ms, std::stoll(*row[3]));
    }
    return out;
}

result<void> mark_verified(connection& c, std::int64_t id)
{
    auto r = c.query("UPDATE privacy_requests SET verified_at = now() WHERE id = $1",
                     {std::to_string(id)});
    return r ? result<void>{} : fail(r.error());
}

result<std::vector<std::string>> suppressed_users(connection& c)
{
    auto rows = c.query("SELECT user_id FROM privacy_suppressed");
    if (!rows) {
        if (rows.error().message.find("does not exist") != std::string::npos) {
            return fail(error_code::failed_precondition,
                        rows.error().message + " (run `adsx db migrate`: migration 0008)");
        }
        return fail(rows.error());
    }
    std::vector<std::string> out;
    out.reserve(rows->size());
    for (auto& row : *rows) {
        out.push_back(std::move(*row[0]));
    }
    return out;
}

result<std::unique_ptr<suppression_feed>> suppression_feed::start(
    const config::postgres_config& cfg, privacy::suppression_list& list,
    std::chrono::milliseconds every)
{
    auto c = connection::open(cfg);
    if (!c) {
        return fail(c.error());
    }
    auto users = suppressed_users(*c);
    if (!users) {
        return fail(users.error());
    }
    list.replace(std::move(*users));
    return std::unique_ptr<suppression_feed>(new suppression_feed(cfg, list, every, std::move(*c)));
}

suppression_feed::suppression_feed(const config::postgres_config& cfg,
                                   privacy::suppression_list& list, std::chrono::milliseconds every,
                                   connection c)
  : _cfg(cfg), _list(list), _every(every), _conn(std::move(c)), _thread([this] { run(); })
{
}

suppression_feed::~suppression_feed()
{
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _wake.notify_all();
    _thread.join();
}

void suppression_feed::run()
{
    static const auto log = log::get("privacy");
    std::unique_lock lock(_mutex);
    while (!_wake.wait_for(lock, _every, [this] { return _stopping; })) {
        lock.unlock();
        if (!_conn) {
            if (auto c = connection::open(_cfg); c) {
                _conn.emplace(std::move(*c));
            }
        }
        auto users = _conn ? suppressed_users(*_conn)
                           : result<std::vector<std::string>>(
                                 fail(error_code::unavailable, "PostgreSQL unreachable"));
        if (users) {
            _list.replace(std::move(*users));
        } else {
            log.warn("suppression list not reloaded; keeping the last one",
                     {{"error", users.error().message}});
            _conn.reset();
        }
        lock.lock();
    }
}

}  // namespace adsx::pg
