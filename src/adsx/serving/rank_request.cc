#include "adsx/serving/rank_request.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "adsx/events/contract.h"

namespace adsx::serving {

namespace {

namespace dom = simdjson::dom;

// The event contract's verdict on a value of one of its string properties.
std::optional<std::string> contract_breaks(std::string_view property, std::string_view v)
{
    const auto& c = events::contract::ad_event();
    const auto& rules = c.properties()[*c.index_of(property)];
    if (auto why = rules.broken(v)) {
        return fmt::format("is not a valid {} ({})", property, events::name(*why));
    }
    return std::nullopt;
}

struct reader
{
    dom::object obj;
    std::string prefix;  // "context." for the context's members
    std::optional<request_error> error;

    void fail(std::string_view key, std::string message)
    {
        if (!error) {
            error = request_error{422, prefix + std::string(key), std::move(message)};
        }
    }
    std::optional<std::string_view> string(std::string_view key, bool required)
    {
        dom::element e;
        if (obj[key].get(e) != simdjson::SUCCESS) {
            if (required) {
                fail(key, "is required");
            }
            return std::nullopt;
        }
        std::string_view s;
        if (e.get(s) != simdjson::SUCCESS) {
            fail(key, "must be a string");
            return std::nullopt;
        }
        return s;
    }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi)
    {
        dom::element e;
        if (obj[key].get(e) != simdjson::SUCCESS) {
            return std::nullopt;
        }
        std::int64_t v = 0;
        if (e.get(v) != simdjson::SUCCESS) {
            fail(key, "must be an integer");
            return std::nullopt;
        }
        if (v < lo || v > hi) {
            fail(key, fmt::format("must be between {} and {}", lo, hi));
            return std::nullopt;
        }
        return v;
    }
    void unknown_members(std::initializer_list<std::string_view> known)
    {
        for (auto [key, _] : obj) {
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                fail(key, "is not a member of this object");
            }
        }
    }
};

void read_context(dom::object ctx, rank_request& out, std::optional<request_error>& error)
{
    reader r{ctx, "context.", {}};
    r.unknown_members({"device", "geo", "placement", "time", "slot"});
    if (auto d = r.string("device", true)) {
        if (auto dev = events::parse_device(*d)) {
            out.device = *dev;
            out.device_name = std::string(*d);
        } else {
            r.fail("device", "must be one of ios, android, desktop, ctv");
        }
    }
    for (auto [key, into] : {std::pair{"geo", &out.geo}, {"placement", &out.placement}}) {
        if (auto v = r.string(key, true)) {
            if (auto bad = contract_breaks(key, *v)) {
                r.fail(key, *bad);
            } else {
                *into = std::string(*v);
            }
        }
    }
    out.time_ms = r.integer("time", 1, std::int64_t{1} << 53);
    out.slot = static_cast<int>(r.integer("slot", 1, 100).value_or(1));
    if (!error) {
        error = r.error;
    }
}

}  // namespace

std::variant<rank_request, request_error> parse_rank_request(std::string_view body)
{
    thread_local dom::parser parser;  // reused: no allocation per request once warm
    dom::element doc;
    if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
        return request_error{400, "", "the body is not valid JSON"};
    }
    dom::object obj;
    if (doc.get(obj) != simdjson::SUCCESS) {
        return request_error{422, "", "the body must be a JSON object"};
    }
    rank_request out;
    reader r{obj, "", {}};
    r.unknown_members({"user_id", "consent", "context", "slots", "candidate_ids", "debug"});
    if (auto u = r.string("user_id", true)) {
        if (auto bad = contract_breaks("user_id", *u)) {
            r.fail("user_id", *bad);
        }
        out.user_id = std::string(*u);
    }
    if (auto c = r.string("consent", false)) {
        if (auto bad = contract_breaks("consent", *c)) {
            r.fail("consent", *bad);
        }
        out.consent = std::string(*c);
    }
    out.slots = static_cast<std::size_t>(r.integer("slots", 1, max_slots).value_or(1));
    dom::element e;
    if (obj["debug"].get(e) == simdjson::SUCCESS && e.get(out.debug) != simdjson::SUCCESS) {
        r.fail("debug", "must be a boolean");
    }
    dom::object ctx;
    if (obj["context"].get(e) != simdjson::SUCCESS) {
        r.fail("context", "is required");
    } else if (e.get(ctx) != simdjson::SUCCESS) {
        r.fail("context", "must be an object");
    } else {
        read_context(ctx, out, r.error);
    }
    if (obj["candidate_ids"].get(e) == simdjson::SUCCESS) {
        dom::array ids;
        if (e.get(ids) != simdjson::SUCCESS || ids.size() > max_candidate_ids) {
            r.fail("candidate_ids",
                   fmt::format("must be an array of at most {} ad ids", max_candidate_ids));
        } else {
            out.candidate_ids.emplace();
            for (auto id : ids) {
                std::int64_t v = 0;
                if (id.get(v) != simdjson::SUCCESS || v < 1 || v > 2'147'483'647) {
                    r.fail("candidate_ids", "must hold ad ids (integers 1..2147483647)");
                    break;
                }
                out.candidate_ids->emplace_back(static_cast<std::uint32_t>(v));
            }
        }
    }
    if (r.error) {
        return *r.error;
    }
    return out;
}

}  // namespace adsx::serving
