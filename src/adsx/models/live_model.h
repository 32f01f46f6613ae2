#pragma once
// The model serving one experiment arm, reloaded when its pointer moves: holds the
// shared_ptr<const model> that {registry}/{name}/current/{arm} names, and swaps in a new one
// when the pointer names another version or that version's model.json changes (its mtime).
// A version that fails to load is refused and the previous model kept (docs/models.md: "a
// serving process keeps the model it had").
//
//   live_model live(registry(cfg.models.dir), "ctr", "control");
//   if (auto r = live.reload_if_changed(); !r) log.warn(r.error().message);   // e.g. every 5 s
//   auto m = live.get();          // shared_ptr<const model>, nullptr before the first load
//   m->score(batch, out);
//
// Thread-safety: get() is lock-free and may run on any number of threads while another calls
// reload_if_changed(); a request keeps the model it got alive until it drops the pointer.
// reload_if_changed() calls are serialised by a mutex. Non-copyable, non-movable.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "adsx/base/error.h"
#include "adsx/models/registry.h"
#include "adsx/ranking/model.h"

namespace adsx::models {

class live_model
{
public:
    live_model(registry reg, std::string name, std::string arm);
    live_model(const live_model&) = delete;
    live_model& operator=(const live_model&) = delete;
    live_model(live_model&&) = delete;
    live_model& operator=(live_model&&) = delete;
    ~live_model() = default;

    // true when a new model was swapped in, false when nothing changed. On failure (pointer
    // unreadable, version refused) the model held stays and the error is returned; a version
    // that failed is not loaded again until its pointer or manifest changes (the same error is
    // returned meanwhile).
    [[nodiscard]] result<bool> reload_if_changed();

    [[nodiscard]] std::shared_ptr<const ranking::model> get() const noexcept
    {
        return _model.load(std::memory_order_acquire);
    }

    // Versions that could not be loaded so far (each counted once, however often it is polled):
    // the pointer named one whose manifest is missing, or the registry refused it.
    [[nodiscard]] std::uint64_t failures() const noexcept
    {
        return _failures.load(std::memory_order_relaxed);
    }

private:
    // What was last looked at: a version and its manifest's modification time.
    struct stamp
    {
        std::int64_t version = 0;
        std::filesystem::file_time_type manifest_mtime{};
        bool operator==(const stamp&) const = default;
    };

    registry _registry;
    std::string _name;
    std::string _arm;
    std::atomic<std::shared_ptr<const ranking::model>> _model;
    std::mutex _reload;                              // guards what follows
    std::optional<stamp> _loaded;                    // what _model is
    std::optional<std::pair<stamp, error>> _failed;  // the last refused version and why
    std::atomic<std::uint64_t> _failures{0};

    [[nodiscard]] error refused(const stamp& s, error e);
};

}  // namespace adsx::models
