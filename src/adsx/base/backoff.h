#pragma once
// Exponential backoff with jitter for retrying a dependency that failed: the n-th consecutive
// failure waits a random time in [d/2, d], d = min(cap, base · 2^(n-1)) ("equal jitter": never
// less than half the exponential step, so a recovered dependency is found within `cap`; never
// in step with other clients retrying the same outage). Seeded, so tests know every delay.
//
//   adsx::backoff retry(500ms, 16s, std::random_device{}());
//   while (!try_it()) sleep(retry.next());   // 250–500 ms, 500 ms–1 s, 1–2 s, … 8–16 s, 8–16 s
//   retry.reset();                             // after a success
//
// Thread-safety: none; one owner.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace adsx {

class backoff
{
public:
    backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, std::uint64_t seed)
      : _base(std::max<std::int64_t>(1, base.count())),
        _cap(std::max<std::int64_t>(_base, cap.count())), _random(seed)
    {
    }

    // The wait before the next attempt; counts a failure.
    [[nodiscard]] std::chrono::milliseconds next()
    {
        std::int64_t step = _base;
        for (int i = 0; i < _failures && step < _cap; ++i) {
            step *= 2;
        }
        step = std::min(step, _cap);
        ++_failures;
        std::uniform_int_distribution<std::int64_t> half(step - step / 2, step);
        return std::chrono::milliseconds(half(_random));
    }
    void reset() noexcept { _failures = 0; }
    // Consecutive failures since the last reset.
    [[nodiscard]] int failures() const noexcept { return _failures; }

private:
    std::int64_t _base;
    std::int64_t _cap;
    int _failures = 0;
    std::mt19937_64 _random;
};

}  // namespace adsx
