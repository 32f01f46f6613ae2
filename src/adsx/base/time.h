#pragma once
// Time vocabulary. Event time, tile ids and every time stored in Redis or on the wire are
// int64 milliseconds since the Unix epoch (UTC), so the durations modules need are named here
// once; and the clock is a port, so that windows, pacing, ages and latencies are tested with a
// manual clock instead of sleeping. It reads two clocks: the wall clock (now_ms: what event
// times are compared with) and a monotonic one (monotonic_ns: what durations are measured
// with, which a step of the wall clock would distort).
//
//   const adsx::clock& c = adsx::system_clock::instance();
//   if (e.event_time_ms > c.now_ms() + 5 * adsx::minute_ms) { ... }
//   const auto start = c.monotonic_ns();  ...;  seconds(c.monotonic_ns() - start);
//
//   adsx::manual_clock t(1'700'000'000'000);   // tests
//   t.advance(adsx::hour_ms);
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace adsx {

inline constexpr std::int64_t second_ms = 1'000;
inline constexpr std::int64_t minute_ms = 60 * second_ms;
inline constexpr std::int64_t hour_ms = 60 * minute_ms;
inline constexpr std::int64_t day_ms = 24 * hour_ms;

// Milliseconds of a std::chrono duration (seconds, hours, …), for config values given in s/h.
template <class Rep, class Period>
[[nodiscard]] constexpr std::int64_t to_ms(std::chrono::duration<Rep, Period> d) noexcept
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// The wall clock as a port. Implementations are thread-safe.
class clock
{
public:
    clock() = default;
    clock(const clock&) = delete;
    clock& operator=(const clock&) = delete;
    clock(clock&&) = delete;
    clock& operator=(clock&&) = delete;
    virtual ~clock() = default;
    // Milliseconds since the Unix epoch.
    [[nodiscard]] virtual std::int64_t now_ms() const noexcept = 0;
    // Nanoseconds of a monotonic clock (an arbitrary origin): for durations only.
    [[nodiscard]] virtual std::int64_t monotonic_ns() const noexcept = 0;
};

inline constexpr std::int64_t ms_ns = 1'000'000;

// Seconds of a duration in nanoseconds (a latency for a histogram, a rate's time).
[[nodiscard]] constexpr double seconds(std::int64_t ns) noexcept
{
    return static_cast<double>(ns) / 1e9;
}

// std::chrono::system_clock. One process-wide instance; stateless.
class system_clock final : public clock
{
public:
    [[nodiscard]] std::int64_t now_ms() const noexcept override
    {
        return to_ms(std::chrono::system_clock::now().time_since_epoch());
    }
    [[nodiscard]] std::int64_t monotonic_ns() const noexcept override
    {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
    [[nodiscard]] static const system_clock& instance() noexcept
    {
        static const system_clock c;
        return c;
    }
};

// A clock that moves only when told to (tests); its monotonic time is its wall time, so both
// move together. set/advance may race with the readings safely.
class manual_clock final : public clock
{
public:
    explicit manual_clock(std::int64_t start_ms = 0) noexcept : _now(start_ms) {}
    [[nodiscard]] std::int64_t now_ms() const noexcept override
    {
        return _now.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::int64_t monotonic_ns() const noexcept override { return now_ms() * ms_ns; }
    void set(std::int64_t ms) noexcept { _now.store(ms, std::memory_order_relaxed); }
    void advance(std::int64_t ms) noexcept { _now.fetch_add(ms, std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> _now;
};

// The start of the UTC day holding `ms` (ms >= 0).
[[nodiscard]] constexpr std::int64_t midnight_utc_ms(std::int64_t ms) noexcept
{
    return ms - ms % day_ms;
}

// "YYYY-MM-DD" of a UTC time in milliseconds (before 1970 too).
[[nodiscard]] std::string utc_date(std::int64_t ms);
// "YYYY-MM-DD HH:MM UTC", for people to read.
[[nodiscard]] std::string utc_minute(std::int64_t ms);

// The wall clock's now in ms: for code that has no clock to be given (apps' summaries).
[[nodiscard]] inline std::int64_t wall_ms() noexcept
{
    return system_clock::instance().now_ms();
}

}  // namespace adsx
