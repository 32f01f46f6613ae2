#pragma once
// The inventory serving uses right now: loaded at start, refreshed in the background every
// `every`, and swapped in atomically, so a request sees one whole snapshot. When a refresh fails
// (PostgreSQL down), the last snapshot keeps serving and age_s() says how old it is.
//
//   serving::live_inventory live([&] { return pg::load_inventory(conn, clock.now_ms()); },
//                                clock, std::chrono::seconds(2));
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
#include <string>
#include <thread>

#include "adsx/base/error.h"
#include "adsx/base/time.h"
#include "adsx/serving/inventory.h"

namespace adsx::serving {

class live_inventory
{
public:
    using loader = std::function<result<inventory>()>;

    live_inventory(loader load, const clock& clock, std::chrono::milliseconds every);
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

private:
    loader _load;
    const clock& _clock;
    std::chrono::milliseconds _every;
    std::atomic<std::shared_ptr<const inventory>> _current;
    mutable std::mutex _mutex;  // guards what follows; serialises refresh()
    std::optional<std::string> _error;
    std::condition_variable _wake;
    bool _stopping = false;
    std::thread _thread;
};

}  // namespace adsx::serving
