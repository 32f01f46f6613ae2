#include "adsx/redis/cluster.h"

#include <charconv>

#include <fmt/format.h>

namespace adsx::redis {
namespace {

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection (the Redis Cluster
// specification's key hashing), by a table of the 256 byte values.
constexpr std::array<std::uint16_t, 256> crc16_table = [] {
    std::array<std::uint16_t, 256> t{};
    for (unsigned b = 0; b < 256; ++b) {
        auto crc = static_cast<std::uint16_t>(b << 8);
        for (int i = 0; i < 8; ++i) {
            crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
        }
        t[b] = crc;
    }
    return t;
}();

std::uint16_t crc16(std::string_view s) noexcept
{
    std::uint16_t crc = 0;
    for (unsigned char c : s) {
        crc = static_cast<std::uint16_t>((crc << 8) ^ crc16_table[((crc >> 8) ^ c) & 0xff]);
    }
    return crc;
}

std::optional<int> parse_int(std::string_view s)
{
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

constexpr int max_attempts = 5;  // sends of one command (redirects, a slot moving twice)

}  // namespace

std::uint16_t hash_slot(std::string_view key) noexcept
{
    if (auto open = key.find('{'); open != std::string_view::npos) {
        if (auto close = key.find('}', open + 1);
            close != std::string_view::npos && close > open + 1) {
            key = key.substr(open + 1, close - open - 1);
        }
    }
    return static_cast<std::uint16_t>(crc16(key) % slot_count);
}

std::string node_address::str() const
{
    return fmt::format("{}:{}", host, port);
}

std::optional<redirect> parse_redirect(std::string_view error)
{
    redirect r;
    if (error.starts_with("MOVED ")) {
        r.type = redirect::kind::moved;
        error.remove_prefix(6);
    } else if (error.starts_with("ASK ")) {
        r.type = redirect::kind::ask;
        error.remove_prefix(4);
    } else {
        return std::nullopt;
    }
    const auto space = error.find(' ');
    const auto colon = error.rfind(':');
    if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) {
        return std::nullopt;
    }
    auto slot = parse_int(error.substr(0, space));
    auto port = parse_int(error.substr(colon + 1));
    if (!slot || *slot < 0 || *slot >= static_cast<int>(slot_count) || !port) {
        return std::nullopt;
    }
    r.slot = static_cast<std::uint16_t>(*slot);
    r.to = {std::string(error.substr(space + 1, colon - space - 1)), *port};
    return r;
}

result<slot_table> slot_table::parse(const reply& slots)
{
    slot_table t;
    t.owner.fill(unassigned);
    if (slots.type != reply::kind::array) {
        return fail(error_code::internal, "redis CLUSTER SLOTS: not an array");
    }
    for (const auto& range : slots.elements) {
        // [start, end, [host, port, id, …] of the master, then its replicas]
        if (range.elements.size() < 3 || range.elements[0].type != reply::kind::integer ||
            range.elements[1].type != reply::kind::integer ||
            range.elements[2].elements.size() < 2) {
            return fail(error_code::internal, "redis CLUSTER SLOTS: a malformed slot range");
        }
        const auto first = range.elements[0].integer;
        const auto last = range.elements[1].integer;
        if (first < 0 || last < first || last >= static_cast<std::int64_t>(slot_count)) {
            return fail(
                error_code::internal,
                fmt::format("redis CLUSTER SLOTS: a range {}-{} out of bounds", first, last));
        }
        const auto& master = range.elements[2].elements;
        node_address a{master[0].str, static_cast<int>(master[1].integer)};
        std::size_t index = 0;
        while (index < t.masters.size() && !(t.masters[index] == a)) {
            ++index;
        }
        if (index == t.masters.size()) {
            t.masters.push_back(a);
        }
        for (auto s = first; s <= last; ++s) {
            t.owner[static_cast<std::size_t>(s)] = static_cast<std::uint16_t>(index);
        }
    }
    return t;
}

bool slot_table::complete() const noexcept
{
    for (auto o : owner) {
        if (o == unassigned) {
            return false;
        }
    }
    return true;
}

result<cluster> cluster::open(std::vector<node_address> seeds, std::chrono::milliseconds timeout)
{
    cluster c(std::move(seeds), timeout);
    if (auto r = c.refresh(); !r) {
        return fail(r.error());
    }
    return c;
}

result<void> cluster::refresh()
{
    // The masters known so far first (a seed may have left the cluster), then the seeds.
    std::vector<node_address> ask = _table.masters;
    ask.insert(ask.end(), _seeds.begin(), _seeds.end());
    std::string last_error = "no node to ask";
    for (const auto& a : ask) {
        auto c = conn(a);
        if (!c) {
            last_error = c.error().message;
            continue;
        }
        auto slots = (*c)->command({"CLUSTER", "SLOTS"});
        if (!slots) {
            _conns.erase(a.str());
            last_error = slots.error().message;
            continue;
        }
        auto t = slot_table::parse(*slots);
        if (!t) {
            last_error = t.error().message;
            continue;
        }
        for (auto& m : t->masters) {
            if (m.host.empty()) {  // a node that does not know its own address: the one asked
                m.host = a.host;
            }
        }
        _table = std::move(*t);
        return {};
    }
    return fail(error_code::unavailable, "redis cluster: no slot table: " + last_error);
}

result<connection*> cluster::conn(const node_address& a)
{
    const auto id = a.str();
    if (auto it = _conns.find(id); it != _conns.end()) {
        return &it->second;
    }
    auto c = connection::open(a.host, a.port, _timeout);
    if (!c) {
        return fail(c.error());
    }
    return &_conns.emplace(id, std::move(*c)).first->second;
}

result<node_address> cluster::owner(std::string_view key) const
{
    const auto slot = hash_slot(key);
    const auto o = _table.owner[slot];
    if (o == slot_table::unassigned) {
        return fail(error_code::unavailable,
                    fmt::format("redis cluster: slot {} (key {}) has no master", slot, key));
    }
    return _table.masters[o];
}

result<reply> cluster::command(const std::vector<std::string>& args)
{
    std::vector<reply> r;
    if (auto ok = pipeline({args}, r); !ok) {
        return fail(ok.error());
    }
    return std::move(r.front());
}

result<void> cluster::pipeline(const std::vector<std::vector<std::string>>& commands,
                               std::vector<reply>& replies)
{
    struct target
    {
        node_address node;
        bool asking = false;  // an ASK redirect: ASKING first
    };
    std::vector<std::optional<target>> where(commands.size());  // nullopt: answered
    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (commands[i].size() < 2) {
            return fail(error_code::invalid_argument,
                        "redis cluster: a command without a key cannot be routed");
        }
        auto o = owner(commands[i][1]);
        if (!o) {
            return fail(o.error());
        }
        where[i] = target{std::move(*o), false};
    }
    replies.assign(commands.size(), reply{});
    for (int attempt = 0;; ++attempt) {
        std::map<std::string, std::vector<std::size_t>> by_node;
        std::map<std::string, node_address> address;
        for (std::size_t i = 0; i < commands.size(); ++i) {
            if (where[i]) {
                by_node[where[i]->node.str()].push_back(i);
                address.emplace(where[i]->node.str(), where[i]->node);
            }
        }
        if (by_node.empty()) {
            return {};
        }
        if (attempt == max_attempts) {
            return fail(error_code::unavailable,
                        fmt::format("redis cluster: {} commands still redirected after {} sends",
                                    by_node.begin()->second.size(), max_attempts));
        }
        // Every node's share goes out before any reply is read.
        struct sent
        {
            std::string node;
            connection* c;
            std::size_t replies;
        };
        std::vector<sent> out;
        std::optional<error> failed;
        for (const auto& [id, idx] : by_node) {
            auto c = conn(address[id]);
            resp_writer w;
            for (auto i : idx) {
                if (where[i]->asking) {
                    w.begin(1);
                    w.arg("ASKING");
                }
                w.begin(commands[i].size());
                for (const auto& a : commands[i]) {
                    w.arg(a);
                }
            }
            if (!c || !(*c)->send(w)) {
                _conns.erase(id);
                failed = error{error_code::unavailable,
                               fmt::format("redis cluster: cannot send to {}", id)};
                continue;
            }
            out.push_back({id, *c, w.commands()});
        }
        // Then every reply is read, whatever fails, so that no connection keeps unread ones.
        bool moved = false;
        std::vector<reply> got;
        for (const auto& s : out) {
            auto r = s.c->receive(s.replies, got);
            if (!r && r.error().code != error_code::failed_precondition) {
                _conns.erase(s.node);  // its replies are lost: the connection cannot be reused
                failed = r.error();
                continue;
            }
            std::size_t k = 0;
            for (auto i : by_node[s.node]) {
                if (where[i]->asking) {
                    ++k;  // ASKING's +OK
                }
                auto& g = got[k++];
                if (g.type == reply::kind::error) {
                    if (auto rd = parse_redirect(g.str)) {
                        moved = moved || rd->type == redirect::kind::moved;
                        where[i] = target{rd->to, rd->type == redirect::kind::ask};
                        continue;
                    }
                    if (!failed) {
                        failed = error{error_code::failed_precondition,
                                       fmt::format("redis {}: {}", s.node, g.str)};
                    }
                }
                replies[i] = std::move(g);
                where[i].reset();
            }
        }
        if (failed) {
            // A write whose reply was lost may have been applied: not resent here, the caller
            // decides (the stream's commit reads its offsets again).
            return fail(*failed);
        }
        if (moved) {
            if (auto r = refresh(); !r) {
                return r;
            }
        }
    }
}

result<std::vector<connection*>> cluster::masters()
{
    std::vector<connection*> out;
    for (const auto& m : _table.masters) {
        auto c = conn(m);
        if (!c) {
            return fail(c.error());
        }
        out.push_back(*c);
    }
    return out;
}

namespace {

result<std::string> cluster_info(connection& c, const std::string& field)
{
    auto info = c.command({"CLUSTER", "INFO"});
    if (!info) {
        return fail(info.error());
    }
    return info_field(info->str, field);
}

}  // namespace

result<void> create_local_cluster(const std::vector<node_address>& nodes,
                                  std::chrono::milliseconds timeout)
{
    std::vector<connection> conns;
    bool fresh = true;
    for (const auto& n : nodes) {
        auto c = connection::open(n.host, n.port, timeout);
        if (!c) {
            return fail(c.error());
        }
        auto assigned = cluster_info(*c, "cluster_slots_assigned");
        if (!assigned) {
            return fail(assigned.error().wrap(n.str() + " (cluster-enabled?)"));
        }
        fresh = fresh && *assigned == "0";
        conns.push_back(std::move(*c));
    }
    const auto n = nodes.size();
    if (fresh) {
        for (std::size_t i = 0; i < n; ++i) {
            // Distinct config epochs up front, as redis-cli does: no collision to resolve later.
            if (auto e = conns[i].command({"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)});
                !e) {
                return fail(e.error());
            }
            const auto first = i * slot_count / n;
            const auto last = (i + 1) * slot_count / n - 1;
            if (auto a = conns[i].command(
                    {"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)});
                !a) {
                return fail(a.error());
            }
        }
    }
    auto known = cluster_info(conns.front(), "cluster_known_nodes");
    if (!known) {
        return fail(known.error());
    }
    if (parse_int(*known).value_or(0) < static_cast<int>(n)) {
        for (std::size_t i = 1; i < n; ++i) {
            if (auto m = conns.front().command(
                    {"CLUSTER", "MEET", nodes[i].host, std::to_string(nodes[i].port)});
                !m) {
                return fail(m.error());
            }
        }
    }
    return {};
}

result<void> cluster_ready(const std::vector<node_address>& nodes,
                           std::chrono::milliseconds timeout)
{
    for (const auto& n : nodes) {
        auto c = connection::open(n.host, n.port, timeout);
        if (!c) {
            return fail(c.error());
        }
        auto state = cluster_info(*c, "cluster_state");
        auto known = cluster_info(*c, "cluster_known_nodes");
        if (!state || !known) {
            return fail((state ? known : state).error());
        }
        if (*state != "ok" || parse_int(*known).value_or(0) < static_cast<int>(nodes.size())) {
            return fail(error_code::unavailable,
                        fmt::format("redis cluster: {} reports cluster_state:{} with {} of {} "
                                    "nodes known",
                                    n.str(), *state, *known, nodes.size()));
        }
    }
    return {};
}

}  // namespace adsx::redis
