// libFuzzer target: the event decoder (events/codec.h) on arbitrary bytes, as `adsx stream`
// meets them on the events topic. It must decode or name a problem, never crash or read out of
// bounds; a decoded event's views must stay inside what the decoder holds (ASan checks).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adsx/events/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static adsx::events::decoder decoder;
    adsx::events::event e;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (!decoder.decode(bytes, e)) {
        // Accepted: every view is readable.
        volatile std::size_t n = e.user_id.size() + e.placement.size() + e.user_agent.size();
        (void)n;
    }
    return 0;
}
