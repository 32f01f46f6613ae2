#include "app.h"

#include <iostream>

#include "adsx/log/log.h"

namespace adsx::app {

result<config::config> context::load() const
{
    auto env = config::process_env();
    if (!log_level.empty()) {
        env["ADSX_LOG__LEVEL"] = log_level;
    }
    auto path = config::locate(config_path, env, exe_dir);
    if (!path) {
        return fail(path.error());
    }
    auto cfg = config::load(*path, env);
    if (!cfg) {
        return fail(cfg.error());
    }
    log::init(cfg->log.level);
    return cfg;
}

int with_config(const context& ctx, const std::function<int(const config::config&)>& body)
{
    auto cfg = ctx.load();
    if (!cfg) {
        return report(cfg.error());
    }
    return body(*cfg);
}

int report(const error& e)
{
    std::cerr << "adsx: " << e.message << "\n";
    return exit_code(e);
}

}  // namespace adsx::app
