// `adsx events check|schema`: the event contract (schemas/ad_event.schema.json, embedded in the
// binary) applied to records a user has at hand (a collector's sample, a dead-letter dump),
// with the same decoder and rules as `adsx stream`.
#include <fstream>
#include <iostream>

#include "app.h"
#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/base/time.h"
#include "adsx/events/ad_event_schema.h"
#include "adsx/events/codec.h"
#include "adsx/events/validate.h"

namespace adsx::app {

namespace {

struct check_options
{
    std::string file = "-";  // one record per line; "-" = stdin
    bool base64 = false;     // each line is the record's bytes in base64
    bool all = false;        // print valid records' verdicts too
};

// The standard base64 alphabet's value of each byte, -1 for others ('=' pads).
std::optional<std::string> from_base64(std::string_view s)
{
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=') {
            break;
        }
        const auto v = alphabet.find(c);
        if (v == std::string_view::npos) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

int check(const check_options& o, const context& ctx)
{
    auto cfg = ctx.load();
    if (!cfg) {
        return report(cfg.error());
    }
    const events::validation_limits limits{.max_future_ms =
                                               std::int64_t{cfg->events.max_future_s} * 1000};
    std::ifstream file;
    if (o.file != "-") {
        file.open(o.file, std::ios::binary);
        if (!file) {
            return report({error_code::invalid_argument, "cannot read " + o.file});
        }
    }
    std::istream& in = o.file == "-" ? std::cin : file;
    events::decoder decoder;
    events::event e;
    std::size_t n = 0, bad = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        auto record = o.base64 ? from_base64(trim(line)) : std::optional<std::string>(line);
        if (!record) {
            return report({error_code::invalid_argument, fmt::format("line {}: not base64", n)});
        }
        auto p = decoder.decode(*record, e);
        if (!p) {
            p = events::validate(e, wall_ms(), limits);
        }
        bad += p.has_value();
        if (p || o.all) {
            std::cout << n << '\t' << (p ? events::name(p->code) : "valid") << '\t'
                      << (p ? p->field : "") << '\n';
        }
    }
    std::cerr << fmt::format("{} records: {} valid, {} not\n", n, n - bad, bad);
    return bad ? 1 : 0;
}

}  // namespace

void add_events_commands(CLI::App& root, context& ctx, action& run)
{
    static check_options o;
    auto* cmd = root.add_subcommand(
        "events", "The ad event contract (schemas/ad_event.schema.json, built into adsx)");
    cmd->require_subcommand(1);
    auto* chk = cmd->add_subcommand(
        "check", "Check records against the contract as adsx stream does: prints "
                 "`line<TAB>reason<TAB>field` for each record that breaks it; exit 1 if any does");
    chk->add_option("file", o.file, "One record per line; - for stdin")->capture_default_str();
    chk->add_flag("--base64", o.base64, "Each line is a record's bytes in base64 (any bytes)");
    chk->add_flag("--all", o.all, "Print a verdict for every record (valid ones as `valid`)");
    chk->callback([&] { run = [&] { return check(o, ctx); }; });
    cmd->add_subcommand("schema", "Print the contract this binary was built with")->callback([&] {
        run = [] {
            std::cout << events::ad_event_schema_json;
            return 0;
        };
    });
}

}  // namespace adsx::app
