// Proves the event codec: encode's fixed, compact field order; decode's round trip of every
// member; decode's verdict (reason and field) on malformed, mistyped and out-of-contract
// records; validate's record-level rules; the uuid text form.
#include <string>

#include <gtest/gtest.h>

#include "adsx/events/codec.h"
#include "adsx/events/validate.h"

namespace adsx::events {
namespace {

event sample()
{
    event e;
    e.event_id = *parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e");
    e.type = event_type::click;
    e.event_time_ms = 1'790'000'000'123;
    e.user_id = "k1:00112233445566778899aabbccddeeff";
    e.ad_id = 87;
    e.campaign_id = 12;
    e.advertiser_id = 3;
    e.request_id = *parse_uuid("7c9e6679-7425-40de-944b-e07fc1f90ae7");
    e.device = device_type::android;
    e.geo = "US-CA";
    e.placement = "feed";
    e.slot = 2;
    e.bid = 1.25;
    e.price = 0.8;
    e.revenue = 0;
    e.consent = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA";
    e.ip = "203.0.113.0";
    e.user_agent = "Chrome/Android";
    return e;
}

std::string encoded(const event& e)
{
    std::string s;
    encode(e, s);
    return s;
}

TEST(codec, encode_is_compact_with_fixed_field_order)
{
    auto s = encoded(sample());
    EXPECT_EQ(s.rfind(R"({"schema_version":1,"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
                      R"("event_type":"click","event_time":1790000000123,)",
                      0),
              0u)
        << s;
    EXPECT_NE(
        s.find(R"("slot":2,"bid":1.25,"price":0.8,"revenue":0,"experiment":null,"arm":null,)"),
        std::string::npos)
        << s;
}

TEST(codec, decode_round_trips_every_field)
{
    auto in = sample();
    in.experiment = "ranker_v2";
    in.arm = "B";
    auto json = encoded(in);
    decoder d;
    event out;
    auto p = d.decode(json, out);
    ASSERT_FALSE(p) << name(p->code) << " " << p->field;
    EXPECT_EQ(out.event_id, in.event_id);
    EXPECT_EQ(out.type, in.type);
    EXPECT_EQ(out.event_time_ms, in.event_time_ms);
    EXPECT_EQ(out.user_id, in.user_id);
    EXPECT_EQ(out.ad_id, in.ad_id);
    EXPECT_EQ(out.campaign_id, in.campaign_id);
    EXPECT_EQ(out.advertiser_id, in.advertiser_id);
    EXPECT_EQ(out.request_id, in.request_id);
    EXPECT_EQ(out.device, in.device);
    EXPECT_EQ(out.geo, in.geo);
    EXPECT_EQ(out.placement, in.placement);
    EXPECT_EQ(out.slot, in.slot);
    EXPECT_DOUBLE_EQ(out.bid, in.bid);
    EXPECT_DOUBLE_EQ(out.price, in.price);
    EXPECT_EQ(out.experiment, "ranker_v2");
    EXPECT_EQ(out.arm, "B");
    EXPECT_EQ(out.consent, in.consent);
    EXPECT_EQ(out.ip, in.ip);
    EXPECT_EQ(out.user_agent, in.user_agent);
    EXPECT_EQ(encoded(out), json);
}

struct bad_case
{
    std::string json;
    reason code;
    std::string field;
};

class decode_rejects : public ::testing::TestWithParam<bad_case>
{};

TEST_P(decode_rejects, with_the_right_reason)
{
    decoder d;
    event out;
    auto p = d.decode(GetParam().json, out);
    ASSERT_TRUE(p) << GetParam().json;
    EXPECT_EQ(name(p->code), name(GetParam().code)) << GetParam().json;
    EXPECT_EQ(p->field, GetParam().field);
}

std::string replace(std::string s, const std::string& from, const std::string& to)
{
    auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
}

std::vector<bad_case> bad_cases()
{
    auto good = encoded(sample());
    return {
        {good.substr(0, good.size() / 2), reason::malformed_json, ""},
        {"not json", reason::malformed_json, ""},
        {"[1,2]", reason::malformed_json, ""},
        {replace(good, "\"ad_id\":87", "\"ad_id\":\"87\""), reason::wrong_type, "ad_id"},
        {replace(good, "\"event_type\":\"click\"", "\"event_type\":\"hover\""),
         reason::unknown_event_type, "event_type"},
        {replace(good, ",\"user_id\":\"k1:00112233445566778899aabbccddeeff\"", ""),
         reason::missing_field, "user_id"},
        {replace(good, "\"price\":0.8", "\"price\":-0.8"), reason::negative_amount, "price"},
        {replace(good, "\"device\":\"android\"", "\"device\":\"fridge\""), reason::invalid_value,
         "device"},
        {replace(good, "\"slot\":2", "\"slot\":0"), reason::invalid_value, "slot"},
        {replace(good, "\"schema_version\":1", "\"schema_version\":9"), reason::invalid_value,
         "schema_version"},
        {replace(good, "7c9e6679-7425", "7c9e6679x7425"), reason::invalid_value, "request_id"},
        {replace(good, "\"slot\":2", "\"slot\":2,\"extra\":1"), reason::invalid_value, "extra"},
        {replace(good, "\"geo\":\"US-CA\"", "\"geo\":\"usa\""), reason::invalid_value, "geo"},
    };
}

INSTANTIATE_TEST_SUITE_P(codec, decode_rejects, ::testing::ValuesIn(bad_cases()));

// The decoder remembers values it accepted (codec.cc: accepted_values); the verdicts must stay
// the contract's however values repeat, past the trial that switches remembering off, with
// bad values between good ones and values that share a slot.
TEST(codec, remembered_values_never_change_a_verdict)
{
    decoder d;
    event out;
    const auto good = encoded(sample());
    const std::vector<std::pair<std::string, std::string>> geos = {
        {"US-CA", ""},          {"usa", "geo"}, {"DE-BE", ""},    {"US-C", ""},
        {"US-C\\u0000", "geo"}, {"US-CAA", ""}, {"us-ca", "geo"}, {"GB", ""}};
    for (int round = 0; round < 3000; ++round) {
        const auto& [geo, field] = geos[static_cast<std::size_t>(round) % geos.size()];
        auto p = d.decode(replace(good, "\"geo\":\"US-CA\"", "\"geo\":\"" + geo + "\""), out);
        if (field.empty()) {
            ASSERT_FALSE(p) << geo << " round " << round;
            EXPECT_EQ(out.geo, geo);
        } else {
            ASSERT_TRUE(p) << geo << " round " << round;
            EXPECT_EQ(p->field, field);
        }
    }
}

TEST(validate, accepts_sample_and_flags_the_record_rules)
{
    auto e = sample();
    const validation_limits limits{.max_future_ms = 5 * minute_ms};
    EXPECT_FALSE(validate(e, e.event_time_ms, limits));
    auto p = validate(e, e.event_time_ms - 10 * 60 * 1000, limits);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->code, reason::future_timestamp);

    auto r = sample();
    r.revenue = 3;  // only conversions carry revenue
    ASSERT_TRUE(validate(r, r.event_time_ms, limits));
    EXPECT_EQ(validate(r, r.event_time_ms, limits)->field, "revenue");
    EXPECT_EQ(validate(r, r.event_time_ms, limits)->code, reason::invalid_value);
}

TEST(event, uuid_text_round_trip_and_rejects_garbage)
{
    auto id = parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e");
    ASSERT_TRUE(id);
    char buf[uuid_text_size];
    format_uuid(*id, buf);
    EXPECT_EQ(std::string(buf, sizeof buf), "0f8fad5b-d9cb-469f-a165-70867728950e");
    EXPECT_FALSE(parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
    EXPECT_FALSE(parse_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    EXPECT_FALSE(parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));  // the last digit
    EXPECT_FALSE(parse_uuid("0f8fad5bd-9cb-469f-a165-70867728950e"));  // a dash moved
    EXPECT_FALSE(parse_uuid("0f8fad5b-d9cb-469f-a165-7086772895\xe9"
                            "0e"));
}

}  // namespace
}  // namespace adsx::events
