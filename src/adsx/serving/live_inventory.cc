#include "adsx/serving/live_inventory.h"

#include <limits>

namespace adsx::serving {

live_inventory::live_inventory(loader load, const clock& clock, std::chrono::milliseconds every,
                               observer observe, std::uint64_t seed)
  : _load(std::move(load)), _clock(clock), _every(every), _observe(std::move(observe)),
    _backoff(every, every * 8, seed)
{
}

live_inventory::~live_inventory()
{
    stop();
}

result<void> live_inventory::refresh()
{
    auto next = _load();  // outside the lock: get() never waits for PostgreSQL
    std::lock_guard lock(_mutex);
    if (!next) {
        _failures_total.fetch_add(1, std::memory_order_relaxed);
        _error = next.error().message;
        return fail(next.error());
    }
    _current.store(std::make_shared<const inventory>(std::move(*next)), std::memory_order_release);
    _error.reset();
    return {};
}

void live_inventory::start()
{
    std::lock_guard lock(_mutex);
    if (_thread.joinable()) {
        return;
    }
    _stopping = false;
    _thread = std::thread([this] {
        std::unique_lock held(_mutex);
        auto wait = _every;
        while (!_wake.wait_for(held, wait, [this] { return _stopping; })) {
            held.unlock();
            // A failure keeps the last snapshot; age_s() and the error show it.
            wait = after(refresh().has_value());
            held.lock();
        }
    });
}

std::chrono::milliseconds live_inventory::after(bool ok)
{
    if (ok) {
        if (_backoff.failures() > 0 && _observe) {
            _observe({.ok = true, .failures = _backoff.failures(), .retry_in = {}, .error = {}});
        }
        _backoff.reset();
        return _every;
    }
    const auto wait = _backoff.next();
    if (_observe) {
        _observe({.ok = false,
                  .failures = _backoff.failures(),
                  .retry_in = wait,
                  .error = last_error().value_or("")});
    }
    return wait;
}

void live_inventory::stop()
{
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _wake.notify_all();
    if (_thread.joinable()) {
        _thread.join();
    }
}

double live_inventory::age_s() const noexcept
{
    const auto inv = get();
    if (!inv) {
        return std::numeric_limits<double>::infinity();
    }
    return static_cast<double>(_clock.now_ms() - inv->loaded_at_ms()) / 1000.0;
}

std::optional<std::string> live_inventory::last_error() const
{
    std::lock_guard lock(_mutex);
    return _error;
}

}  // namespace adsx::serving
