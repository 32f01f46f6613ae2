#pragma once
// Redis Cluster routing: which node holds a key, and how to follow the cluster when it moves
// slots. Debian 12 packages no cluster-aware C or C++ client (hiredis 0.14 has none), so this is
// the small part of one the project needs, on top of client.h's connections:
//   - hash_slot(key): CRC16 (XMODEM) of the key, or of its hash tag (the part between the first
//     `{` and the next `}`, when not empty), modulo 16384. Keys that share a tag share a slot,
//     which a transaction needs: Redis refuses a MULTI whose keys span slots (CROSSSLOT).
//   - the slot table from CLUSTER SLOTS, asked of any node that answers (the seeds first);
//   - redirects: MOVED (the slot has a new owner for good: read the table again and resend)
//     and ASK (the slot is migrating and this key already lives on the target: send ASKING and
//     the command there, once, leaving the table as it is).
//   - create_local_cluster: the stack's own cluster (stack/services.h), slots split evenly
//     over masters without replicas, as `redis-cli --cluster create --cluster-replicas 0` does.
//
//   auto c = redis::cluster::open({{"127.0.0.1", 7000}}, 2s);
//   auto v = c->command({"HGETALL", "u:K1:ab12"});          // on the node of the key's slot
//   std::vector<reply> r;
//   c->pipeline({{"HGETALL", "a:1"}, {"HGETALL", "a:2"}}, r);  // one round trip per node
//
// Commands go where their key (the first argument after the name) lives; a command without a
// key goes to every master through masters(). Not thread-safe: one cluster per thread.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/redis/client.h"

namespace adsx::redis {

inline constexpr std::size_t slot_count = 16384;

[[nodiscard]] std::uint16_t hash_slot(std::string_view key) noexcept;

struct node_address
{
    std::string host;
    int port = 0;
    [[nodiscard]] std::string str() const;
    friend bool operator==(const node_address&, const node_address&) = default;
};

// A redirect in an error reply: "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct redirect
{
    enum class kind
    {
        moved,
        ask
    } type = kind::moved;
    std::uint16_t slot = 0;
    node_address to;
};
// nullopt for any other error text.
[[nodiscard]] std::optional<redirect> parse_redirect(std::string_view error);

// Which master serves each slot, from a CLUSTER SLOTS reply.
struct slot_table
{
    static constexpr std::uint16_t unassigned = 0xffff;
    std::vector<node_address> masters;
    std::array<std::uint16_t, slot_count> owner{};  // index into masters, or unassigned

    [[nodiscard]] static result<slot_table> parse(const reply& cluster_slots);
    // Every slot has a master.
    [[nodiscard]] bool complete() const noexcept;
};

class cluster
{
public:
    // Reads the slot table from the first seed that answers.
    [[nodiscard]] static result<cluster> open(std::vector<node_address> seeds,
                                              std::chrono::milliseconds timeout);

    // One command, on the node of its key (args[1]), following redirects. An error reply fails
    // the call, as connection::command's does.
    [[nodiscard]] result<reply> command(const std::vector<std::string>& args);

    // Every command on the node of its key: each node's share is sent before any reply is read
    // (one round trip per node, the nodes working at once); replies in the commands' order.
    // Redirected commands are sent again where they point. An error reply fails the whole call.
    [[nodiscard]] result<void> pipeline(const std::vector<std::vector<std::string>>& commands,
                                        std::vector<reply>& replies);

    // A connection to every master (commands without a key: SCAN, FLUSHALL, INFO).
    [[nodiscard]] result<std::vector<connection*>> masters();

    // Reads the slot table again (after a MOVED, or a node that stopped answering).
    [[nodiscard]] result<void> refresh();

    [[nodiscard]] const slot_table& table() const noexcept { return _table; }

private:
    cluster(std::vector<node_address> seeds, std::chrono::milliseconds timeout)
      : _seeds(std::move(seeds)), _timeout(timeout)
    {
    }
    [[nodiscard]] result<connection*> conn(const node_address& a);
    [[nodiscard]] result<node_address> owner(std::string_view key) const;

    std::vector<node_address> _seeds;
    std::chrono::milliseconds _timeout;
    slot_table _table;
    std::map<std::string, connection> _conns;  // by "host:port"
};

// Makes the masters at `nodes` (fresh cluster-enabled servers that know only themselves) one
// cluster: slots split evenly in the nodes' order, then every node introduced to the first.
// Does nothing to nodes that already hold slots. The cluster is usable once every node reports
// cluster_state:ok (cluster_ready).
[[nodiscard]] result<void> create_local_cluster(const std::vector<node_address>& nodes,
                                                std::chrono::milliseconds timeout);
// Every node reports cluster_state:ok and knows all of `nodes`; the error says which does not.
[[nodiscard]] result<void> cluster_ready(const std::vector<node_address>& nodes,
                                         std::chrono::milliseconds timeout);

}  // namespace adsx::redis
