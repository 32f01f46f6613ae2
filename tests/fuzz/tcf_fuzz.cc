// libFuzzer target: the TCF v2 consent-string decoder (privacy/tcf.h) on arbitrary text, as it
// comes in every event and /rank_ads request. It decodes or refuses; a decoded string encodes
// again and decodes to the same consent (a round trip), or the fuzzer aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adsx/privacy/tcf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto consent = adsx::privacy::decode_tc_string(text);
    if (!consent) {
        return 0;
    }
    auto again = adsx::privacy::encode_tc_string(*consent);
    if (!again) {
        return 0;  // fields the encoder does not write back (e.g. publisher restrictions)
    }
    auto back = adsx::privacy::decode_tc_string(*again);
    if (!back || *back != *consent) {
        std::abort();
    }
    return 0;
}
