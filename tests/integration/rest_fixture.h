#pragma once
// The REST tests' fixture: a real server and an HTTP client on its HTTP address, with helpers for JSON bodies,
// named errors and percent-encoded ARNs.
#include <gtest/gtest.h>
#include <httplib.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/integration/fixture.h"

namespace stepflow::itest {

namespace json = boost::json;

inline constexpr char kJson[] = "application/json";

inline std::string Encode(const std::string& arn) {
  std::string out;
  for (char c : arn) {
    if (c == ':' || c == '/' || c == '%' || c == '?' || c == '#') {
      out += absl::StrCat("%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  return out;
}

inline int PortOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

inline std::unique_ptr<httplib::Client> Http(const std::string& address) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", PortOf(address));
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(30, 0);
  return c;
}

inline json::value Body(const httplib::Result& r) {
  EXPECT_TRUE(r);
  if (!r) {
    return nullptr;
  }
  json::error_code ec;
  json::value v = json::parse(r->body, ec);
  EXPECT_FALSE(ec) << r->body;
  return v;
}

inline std::string ErrorOf(const httplib::Result& r) {
  json::value v = Body(r);
  return v.is_object() && v.as_object().contains("error") ? std::string(v.at("error").as_string()) : "";
}

class RestTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    http_ = Http(server().http_address());
  }
  void TearDown() override {
    http_.reset();
    ServerFixture::TearDown();
  }

  json::value CreateSm(const std::string& name, const std::string& definition) {
    auto r = http_->Post("/api/v1/state-machines",
                         absl::StrCat(R"({"name":")", name, R"(","definition":)", definition, "}"), kJson);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return Body(r);
  }

  json::value StartExec(const std::string& sm, const std::string& input, const std::string& name = "") {
    auto r = http_->Post("/api/v1/executions",
                         absl::StrCat(R"({"stateMachine":")", sm, R"(","name":")", name, R"(","input":)", input, "}"),
                         kJson);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return Body(r);
  }

  std::unique_ptr<httplib::Client> http_;
};

}  // namespace stepflow::itest
