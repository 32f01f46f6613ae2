#pragma once
// Runs a callable when the guard leaves scope, unless dismissed. Move-only.
//
//   auto closer = adsx::defer([&] { ::close(fd); });
#include <optional>
#include <utility>

namespace adsx {

template <class F>
class [[nodiscard]] defer_guard
{
public:
    explicit defer_guard(F f) : _f(std::move(f)) {}
    defer_guard(const defer_guard&) = delete;
    defer_guard& operator=(const defer_guard&) = delete;
    defer_guard(defer_guard&& o) noexcept : _f(std::move(o._f)) { o._f.reset(); }
    defer_guard& operator=(defer_guard&&) = delete;
    ~defer_guard()
    {
        if (_f) {
            (*_f)();
        }
    }
    void dismiss() noexcept { _f.reset(); }

private:
    std::optional<F> _f;
};

template <class F>
[[nodiscard]] defer_guard<F> defer(F f)
{
    return defer_guard<F>(std::move(f));
}

}  // namespace adsx
