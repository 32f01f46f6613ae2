#pragma once
// What the probes' tests ask of an exposition as metrics::render writes it.
#include <string>

namespace adsx::metrics::exposition {

// Whether `text` has a line ending in `line` (a sample and its value).
inline bool has(const std::string& text, const std::string& line)
{
    return text.find(line + "\n") != std::string::npos;
}

}  // namespace adsx::metrics::exposition
