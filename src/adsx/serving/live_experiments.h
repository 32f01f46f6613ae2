#pragma once
// The running experiments as an assigner (experiments/assignment.h) that request threads read
// while the owner refreshes it from a loader (PostgreSQL in adsx serve: pg::running_experiments).
// A failed refresh keeps the last assigner, so a database hiccup changes nobody's arm.
//
//   serving::live_experiments live([&] { return pg::running_experiments(conn); });
//   auto arms = live.refresh();                 // the model arms the running experiments serve
//   auto choice = live.assign("k1:9f86…");      // {experiment, arm, model_arm} or nullopt
//
// refresh() from one thread; assign() from any.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/experiments/assignment.h"
#include "adsx/serving/rank_api.h"

namespace adsx::serving {

class live_experiments
{
public:
    using loader = std::function<result<std::vector<experiments::experiment_spec>>()>;
    explicit live_experiments(loader load) : _load(std::move(load)) {}

    // Loads the running experiments; returns the model arms they serve.
    [[nodiscard]] result<std::vector<std::string>> refresh();
    [[nodiscard]] std::optional<arm_choice> assign(std::string_view user) const;

private:
    loader _load;
    std::shared_ptr<const experiments::assigner> _current;
};

}  // namespace adsx::serving
