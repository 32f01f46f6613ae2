#pragma once
// The inventory serving uses right now: loaded at start, refreshed in the background every
// `every`, and swapped in atomically, so a request sees one whole snapshot. When a refresh fails
// (PostgreSQL down), the last snapshot keeps serving and age_s() says how old it is; the next
// attempts back off exponentially with jitter (base `every`, at most 8 × `every`, so a
// recovered database is found within 8 refresh periods and a fleet of services does not hit
// it in step), and the observer hears of every failure and of the recovery.
//
//   serving::live_inventory live([&] { return pg::load_inventory(conn, clock.now_ms()); },
//                                clock, std::chrono::seconds(2),
//                                [&](const refresh_outcome& o) { log it });
//   if (auto r = live.refresh(); !r) return report(r.error());   // the first load must work
//   live.start();                          // background refreshes until stop() or destruction
//   auto inv = live.get();                 // shared_ptr<const inventory>, never null after a load
//
// Thread-safety: get(), age_s() and last_error() from any thread; refresh() serialised inside.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "adsx/base/backoff.h"
#include "adsx/base/error.h"
#include "adsx/base/time.h"
#include "adsx/serving/inventory.h"

namespace adsx::serving {

// A background refresh that failed, or the first that worked after failures.
struct refresh_outcome
{
    bool ok = false;
    int failures = 0;                       // consecutive failures (on ok: how many it ended)
    std::chrono::milliseconds retry_in{0};  // failed: when the next attempt is
    std::string error;                      // failed: why
};

class live_inventory
{
public:
    using loader = std::function<result<inventory>()>;
    using observer = std::function<void(const refresh_outcome&)>;  // on the refresh thread

    live_inventory(loader load, const clock& clock, std::chrono::milliseconds every,
                   observer observe = {}, std::uint64_t seed = std::random_device{}());
    live_inventory(const live_inventory&) = delete;
    live_inventory& operator=(const live_inventory&) = delete;
    live_inventory(live_inventory&&) = delete;
    live_inventory& operator=(live_inventory&&) = delete;
    ~live_inventory();

    [[nodiscard]] result<void> refresh();
    void start();
    void stop();

    [[nodiscard]] std::shared_ptr<const inventory> get() const noexcept
    {
        return _current.load(std::memory_order_acquire);
    }
    // Seconds since the snapshot served now was loaded (infinity before the first load).
    [[nodiscard]] double age_s() const noexcept;
    // The last refresh's error, or nullopt when it worked.
    [[nodiscard]] std::optional<std::string> last_error() const;
    // Refreshes that failed since start, the first load's included.
    [[nodiscard]] std::uint64_t failures_total() const noexcept
    {
        return _failures_total.load(std::memory_order_relaxed);
    }

private:
    // The wait before the next background refresh, after one that did `ok` (refresh thread).
    std::chrono::milliseconds after(bool ok);

    loader _load;
    const clock& _clock;
    std::chrono::milliseconds _every;
    observer _observe;
    backoff _backoff;  // refresh thread only
    std::atomic<std::uint64_t> _failures_total{0};
    std::atomic<std::shared_ptr<const inventory>> _current;
    mutable std::mutex _mutex;  // guards what follows; serialises refresh()
    std::optional<std::string> _error;
    std::condition_variable _wake;
    bool _stopping = false;
    std::thread _thread;
};

}  // namespace adsx::serving
