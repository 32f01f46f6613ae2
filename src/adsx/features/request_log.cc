#include "adsx/features/request_log.h"

#include <algorithm>
#include <cstring>

namespace adsx::features {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

void append_le(std::string& out, std::uint64_t v)
{
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>(v >> (8 * i)));
    }
}

std::uint64_t read_le(const char* p) noexcept
{
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = v << 8 | static_cast<std::uint8_t>(p[i]);
    }
    return v;
}

// The fingerprints of stored bytes, in their order, into `out` (cleared first).
void read_ids(std::string_view bytes, std::vector<std::uint64_t>& out)
{
    out.clear();
    out.reserve(bytes.size() / 8);
    for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        out.push_back(read_le(bytes.data() + i));
    }
}

}  // namespace

std::string_view kind_tag(follow_kind k) noexcept
{
    return k == follow_kind::impression ? "i" : "c";
}

std::uint64_t fingerprint(const events::uuid& id) noexcept
{
    // Both halves through a 64-bit mix (splitmix64's finaliser): v4 and v7 UUIDs alike spread
    // over all 64 bits (a v7's first half is mostly its timestamp).
    std::uint64_t a;
    std::uint64_t b;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    auto mix = [](std::uint64_t x) {
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
    };
    return mix(a ^ mix(b + 0x9e3779b97f4a7c15ULL));
}

void request_log::bucket::add_run(std::vector<std::uint64_t>& sorted)
{
    runs.push_back(ids.size());
    ids.insert(ids.end(), sorted.begin(), sorted.end());
    while (runs.size() >= 2) {
        const auto last = ids.size() - runs.back();
        const auto before = runs.back() - runs[runs.size() - 2];
        if (before > 2 * last) {
            break;
        }
        std::inplace_merge(ids.begin() + static_cast<std::ptrdiff_t>(runs[runs.size() - 2]),
                           ids.begin() + static_cast<std::ptrdiff_t>(runs.back()), ids.end());
        runs.pop_back();
    }
}

bool request_log::bucket::contains(std::uint64_t fp) const
{
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const auto begin = ids.begin() + static_cast<std::ptrdiff_t>(runs[r]);
        const auto end = r + 1 < runs.size()
                             ? ids.begin() + static_cast<std::ptrdiff_t>(runs[r + 1])
                             : ids.end();
        if (std::binary_search(begin, end, fp)) {
            return true;
        }
    }
    return false;
}

std::int64_t request_log::window(follow_kind k) const noexcept
{
    return k == follow_kind::impression ? _w.click_ms : _w.conversion_ms;
}

std::pair<std::int64_t, std::int64_t> request_log::kept(follow_kind k,
                                                        std::int64_t wm) const noexcept
{
    return {floor_div(wm - _w.lateness_ms - window(k), bucket_ms(k)), floor_div(wm, bucket_ms(k))};
}

void request_log::load(follow_kind k, std::int64_t b, std::string_view bytes)
{
    if (bytes.size() < 8) {
        return;
    }
    std::vector<std::uint64_t> ids;
    read_ids(bytes, ids);
    std::sort(ids.begin(), ids.end());
    _kept[index(k)][b].add_run(ids);
}

void request_log::stage(follow_kind k, std::int64_t t, std::uint64_t fp)
{
    auto& s = _staged[index(k)];
    s.ids.push_back(fp);
    s.times.push_back(t);
}

void request_log::drop_staged()
{
    for (auto& s : _staged) {
        s.ids.clear();
        s.times.clear();
    }
}

bool request_log::follows(follow_kind k, std::int64_t t, std::uint64_t fp) const
{
    const auto width = bucket_ms(k);
    const auto first = floor_div(t - window(k), width);
    const auto last = floor_div(t, width);
    const auto& kept = _kept[index(k)];
    for (auto it = kept.lower_bound(first); it != kept.end() && it->first <= last; ++it) {
        if (it->second.contains(fp)) {
            return true;
        }
    }
    const auto& s = _staged[index(k)];
    for (std::size_t i = 0; i < s.ids.size(); ++i) {
        if (s.ids[i] == fp) {
            const auto b = floor_div(s.times[i], width);
            if (b >= first && b <= last) {
                return true;
            }
        }
    }
    return false;
}

log_writes request_log::pending(std::int64_t wm) const
{
    log_writes w;
    std::vector<std::pair<std::int64_t, std::uint64_t>> by_bucket;
    for (auto k : {follow_kind::impression, follow_kind::click}) {
        const auto first = kept(k, wm).first;
        const auto& s = _staged[index(k)];
        by_bucket.clear();
        for (std::size_t i = 0; i < s.ids.size(); ++i) {
            const auto b = floor_div(s.times[i], bucket_ms(k));
            if (b >= first) {  // else left behind by this very commit
                by_bucket.emplace_back(b, s.ids[i]);
            }
        }
        std::sort(by_bucket.begin(), by_bucket.end());
        for (std::size_t i = 0; i < by_bucket.size(); ++i) {
            if (i == 0 || by_bucket[i].first != by_bucket[i - 1].first) {
                w.appends.push_back({k, by_bucket[i].first, {}});
            }
            append_le(w.appends.back().bytes, by_bucket[i].second);
        }
        const auto& held = _kept[index(k)];
        for (auto it = held.begin(); it != held.end() && it->first < first; ++it) {
            w.deletes.push_back({k, it->first, {}});
        }
    }
    return w;
}

void request_log::keep(const log_writes& w)
{
    std::vector<std::uint64_t> ids;
    for (const auto& a : w.appends) {
        read_ids(a.bytes, ids);
        _kept[index(a.kind)][a.bucket].add_run(ids);  // sorted by pending()
    }
    for (const auto& d : w.deletes) {
        _kept[index(d.kind)].erase(d.bucket);
    }
    drop_staged();
}

std::size_t request_log::bytes() const noexcept
{
    // Per bucket its map node (the bucket and the tree's three pointers and colour) and its
    // vectors' capacity; the staged ids likewise.
    std::size_t n = 0;
    for (const auto& kind : _kept) {
        for (const auto& [b, held] : kind) {
            n += sizeof(buckets::value_type) + 4 * sizeof(void*) +
                 held.ids.capacity() * sizeof(std::uint64_t) +
                 held.runs.capacity() * sizeof(std::size_t);
        }
    }
    for (const auto& s : _staged) {
        n += s.ids.capacity() * sizeof(std::uint64_t) + s.times.capacity() * sizeof(std::int64_t);
    }
    return n;
}

std::size_t request_log::size() const noexcept
{
    std::size_t n = 0;
    for (const auto& kind : _kept) {
        for (const auto& [b, held] : kind) {
            n += held.ids.size();
        }
    }
    return n;
}

}  // namespace adsx::features
