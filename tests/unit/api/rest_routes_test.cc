// The REST API's routing pieces: the OpenAPI document against the routes the server registers (both
// directions), percent-decoding of ARNs in paths, and the HTTP status of each error code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "engine/api/error_mapping.h"
#include "engine/api/openapi_document.h"
#include "engine/api/rest_api.h"

namespace stepflow::api {
namespace {

std::set<std::string> DocumentedRoutes() {
  boost::json::value doc = boost::json::parse(std::string(kOpenApiDocument));
  std::set<std::string> routes;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      std::string m(method);
      absl::AsciiStrToUpper(&m);
      routes.insert(m + " " + std::string(path));
    }
  }
  return routes;
}

TEST(RestRoutesTest, TheOpenApiDocumentListsExactlyTheRegisteredRoutes) {
  std::set<std::string> documented = DocumentedRoutes();
  std::vector<std::string> registered_list = RestApi::Routes();
  std::set<std::string> registered(registered_list.begin(), registered_list.end());
  ASSERT_EQ(registered.size(), registered_list.size()) << "a route is registered twice";
  for (const std::string& r : registered) {
    EXPECT_TRUE(documented.count(r)) << r << " is served but not in openapi.json";
  }
  for (const std::string& r : documented) {
    EXPECT_TRUE(registered.count(r)) << r << " is in openapi.json but not served";
  }
  EXPECT_GE(registered.size(), 20u);
}

TEST(RestRoutesTest, PercentDecoding) {
  EXPECT_EQ(PercentDecode("arn%3Aaws%3Astates%3A%3A1%3Aexecution%3Asm%3Ae1"),
            "arn:aws:states::1:execution:sm:e1");
  EXPECT_EQ(PercentDecode("a%2fb+c"), "a/b+c");
  EXPECT_FALSE(PercentDecode("bad%3").has_value());
  EXPECT_FALSE(PercentDecode("bad%zz").has_value());
}

TEST(RestRoutesTest, OneTableMapsCodesToHttp) {
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kOk), 200);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kFailedPrecondition), 409);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(ToHttpStatus(absl::StatusCode::kDataLoss), 500);
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kDataLoss), grpc::StatusCode::INTERNAL);
}

}  // namespace
}  // namespace stepflow::api
