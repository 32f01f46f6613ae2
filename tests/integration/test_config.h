#pragma once
// The configuration the C++ integration tests run against: the repository's adsx.toml (found
// from ADSX_SOURCE_DIR, which CTest sets) with ADSX_* environment overrides, as `adsx` loads it.
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "adsx/config/config.h"

namespace adsx::integration {

inline config::config load_config()
{
    auto env = config::process_env();
    const char* src = std::getenv("ADSX_SOURCE_DIR");
    auto path = config::locate({}, env, src ? std::filesystem::path(src) : "");
    EXPECT_TRUE(path) << path.error().message;
    auto cfg = config::load(*path, env);
    EXPECT_TRUE(cfg) << cfg.error().message;
    return *cfg;
}

}  // namespace adsx::integration
