// Scoring allocates nothing per row: once a thread has scored a batch of some size, scoring a
// batch that size again does not touch the heap. Checked by counting global operator new.
#include <atomic>
#include <cstdlib>
#include <new>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "adsx/ranking/lr_scorer.h"
#include "adsx/ranking/model.h"
#include "adsx/ranking/rows.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

// Every plain (non-aligned) form is replaced, so that whatever a library allocates with one
// form and frees with another stays malloc/free underneath (ASan checks the pairing). GCC
// cannot see that the replacements pair malloc with free.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
void* counted(std::size_t n) noexcept
{
    if (counting.load(std::memory_order_relaxed)) {
        allocations.fetch_add(1, std::memory_order_relaxed);
    }
    return std::malloc(n == 0 ? 1 : n);
}
void* counted_or_throw(std::size_t n)
{
    if (void* p = counted(n)) {
        return p;
    }
    throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n)
{
    return counted_or_throw(n);
}
void* operator new[](std::size_t n)
{
    return counted_or_throw(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept
{
    return counted(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept
{
    return counted(n);
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete[](void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept
{
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept
{
    std::free(p);
}

namespace adsx::ranking {
namespace {

TEST(allocation, scoring_a_batch_again_allocates_nothing)
{
    auto spec = parse_feature_spec(R"({"numeric": [{"name": "x", "transform": "log1p"}],
        "categorical": [{"name": "device", "vocab": []}, {"name": "geo", "vocab": []}],
        "crosses": [["device", "geo"]]})");
    ASSERT_TRUE(spec);
    auto s = parse_lr_scorer(R"({"format": "adstreamx-lr/1", "bias": 0.5, "hash_bits": 18,
        "numeric": [{"name": "x", "mean": 0, "scale": 1, "weight": 1}],
        "hashed": {"indices": [1, 2, 3], "weights": [0.1, 0.2, 0.3]}})",
                             *spec);
    ASSERT_TRUE(s);
    model m({"ctr", 1, model_family::lr, "ctr"}, *spec, std::move(*s), 0.5,
            calibration::platt(1.0, 0.1));
    std::string text;
    for (int i = 0; i < 50; ++i) {
        text += fmt::format(R"({{"x": {}, "device": "d{}", "geo": "a-long-region-name-{}"}})", i,
                            i % 3, i) +
                "\n";
    }
    auto rows = row_set::parse_jsonl(text, *spec);
    ASSERT_TRUE(rows);
    auto b = m.make_batch();
    std::vector<double> p(500);
    rows->fill(b, 0, 500);
    ASSERT_TRUE(m.score(b, p));  // warm-up: buffers grow here

    allocations = 0;
    counting = true;
    rows->fill(b, 7, 500);
    auto r = m.score(b, p);
    counting = false;
    ASSERT_TRUE(r);
    EXPECT_EQ(allocations.load(), 0);
}

}  // namespace
}  // namespace adsx::ranking
