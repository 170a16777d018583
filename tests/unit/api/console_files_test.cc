// The console's static files: what is served, with which content type, the client-route fallback, and that no
// request path reaches a file outside the table read at start-up.
#include "engine/api/console_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace stepflow::api {
namespace {

namespace fs = std::filesystem;

class ConsoleFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("console-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "dist" / "assets");
    Write("dist/index.html", "<!doctype html>index");
    Write("dist/assets/app-1a2b.js", "console.log(1)");
    Write("dist/assets/app-1a2b.css", "body{}");
    Write("dist/.secret", "hidden");
    Write("outside.txt", "root:x:0:0");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(root_ / name) << text; }
  std::string Dist() const { return (root_ / "dist").string(); }

  fs::path root_;
};

TEST_F(ConsoleFilesTest, ServesFilesWithTheirContentTypesAndIndexAtTheRoot) {
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load(Dist());
  ASSERT_TRUE(files.ok()) << files.status();
  ConsoleResponse index = files->Serve("/");
  ASSERT_NE(index.body, nullptr);
  EXPECT_EQ(*index.body, "<!doctype html>index");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.cache_control, "no-cache");
  ConsoleResponse js = files->Serve("/assets/app-1a2b.js");
  ASSERT_NE(js.body, nullptr);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js.cache_control.find("immutable"), std::string::npos);
  EXPECT_EQ(files->Serve("/assets/app-1a2b.css").content_type, "text/css; charset=utf-8");
}

TEST_F(ConsoleFilesTest, AClientRouteGetsIndexAndAMissingFileIsA404) {
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load(Dist());
  ASSERT_TRUE(files.ok()) << files.status();
  ConsoleResponse route = files->Serve("/executions/abc");
  ASSERT_NE(route.body, nullptr);
  EXPECT_EQ(*route.body, "<!doctype html>index");
  EXPECT_EQ(files->Serve("/assets/missing.js").status, 404);
  EXPECT_EQ(files->Serve("/assets/missing.js").body, nullptr);
}

TEST_F(ConsoleFilesTest, NoPathReachesAFileOutsideTheTable) {
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load(Dist());
  ASSERT_TRUE(files.ok()) << files.status();
  for (const char* path : {"/../outside.txt", "/assets/../../outside.txt", "/..", "/assets/..", "/./index.html",
                           "/%2e%2e/outside.txt", "/..%2foutside", "/assets\\..\\outside", "", "outside.txt",
                           "/.secret"}) {
    ConsoleResponse r = files->Serve(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, nullptr) << path;
  }
}

TEST_F(ConsoleFilesTest, ADirectoryWithoutIndexIsRefusedByName) {
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load((root_ / "dist" / "assets").string());
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(files.status().message().find("no index.html"), std::string::npos) << files.status();
  EXPECT_FALSE(ConsoleFiles::Load((root_ / "nope").string()).ok());
}

TEST_F(ConsoleFilesTest, TooManyFilesAreRefused) {
  for (std::size_t i = 0; i <= kMaxConsoleFiles; ++i) {
    Write("dist/assets/f" + std::to_string(i) + ".js", "x");
  }
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load(Dist());
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("more than"), std::string::npos) << files.status();
}

TEST(ContentTypeTest, KnownAndUnknownExtensions) {
  EXPECT_EQ(ContentTypeOf("/a.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeOf("/a.json"), "application/json");
  EXPECT_EQ(ContentTypeOf("/a.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace stepflow::api
