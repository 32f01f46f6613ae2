#include "adsx/serving/live_experiments.h"

#include <atomic>

namespace adsx::serving {

result<std::vector<std::string>> live_experiments::refresh()
{
    auto running = _load();
    if (!running) {
        return fail(running.error());
    }
    std::vector<std::string> model_arms;
    for (const auto& e : *running) {
        model_arms.insert(model_arms.end(), e.model_arms.begin(), e.model_arms.end());
    }
    std::atomic_store(&_current,
                      std::make_shared<const experiments::assigner>(std::move(*running)));
    return model_arms;
}

std::optional<arm_choice> live_experiments::assign(std::string_view user) const
{
    const auto a = std::atomic_load(&_current);
    const auto p = a ? a->assign(user) : std::nullopt;
    if (!p) {
        return std::nullopt;
    }
    return arm_choice{p->experiment->name, p->arm_name(), p->model_arm(), p->reserve_scale()};
}

}  // namespace adsx::serving
