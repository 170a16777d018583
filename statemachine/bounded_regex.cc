#include "statemachine/bounded_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace stepflow::sm {
namespace {

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::string ErrorText(int code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? absl::StrCat("PCRE2 error ", code) : std::string(reinterpret_cast<const char*>(buffer));
}

bool IsLimitError(int rc) {
  return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
         rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_NOMEMORY;
}

}  // namespace

struct BoundedRegex::Impl {
  std::string pattern;
  std::unique_ptr<pcre2_code, CodeDeleter> code;
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context;
  std::uint32_t match_options = 0;
};

absl::StatusOr<BoundedRegex> BoundedRegex::Compile(std::string_view pattern, const RegexOptions& options) {
  if (pattern.size() > kMaxRegexPatternBytes) {
    return absl::InvalidArgumentError(absl::StrCat("regular expression of ", pattern.size(),
                                                   " bytes; at most ", kMaxRegexPatternBytes, " are allowed"));
  }
  std::uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (options.ignore_case) {
    flags |= PCRE2_CASELESS;
  }
  if (options.full_match) {
    flags |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;  // at compile time, so that the JIT applies
  }
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  auto impl = std::make_shared<Impl>();
  impl->pattern = std::string(pattern);
  impl->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags, &error,
                                 &error_offset, nullptr));
  if (impl->code == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regular expression at offset ", error_offset, ": ", ErrorText(error)));
  }
  // Without JIT support (or when JIT compilation fails) the interpreter runs, under the same limits.
  pcre2_jit_compile(impl->code.get(), PCRE2_JIT_COMPLETE);
  impl->context.reset(pcre2_match_context_create(nullptr));
  if (impl->context == nullptr) {
    return absl::ResourceExhaustedError("out of memory compiling a regular expression");
  }
  pcre2_set_match_limit(impl->context.get(), options.match_limit);
  pcre2_set_depth_limit(impl->context.get(), options.depth_limit);
  pcre2_set_heap_limit(impl->context.get(), options.heap_limit_kib);
  return BoundedRegex(std::move(impl));
}

BoundedRegex::BoundedRegex(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

const std::string& BoundedRegex::pattern() const { return impl_->pattern; }

absl::StatusOr<bool> BoundedRegex::Matches(std::string_view subject) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create_from_pattern(impl_->code.get(), nullptr));
  if (data == nullptr) {
    return absl::ResourceExhaustedError("out of memory matching a regular expression");
  }
  const int rc = pcre2_match(impl_->code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                             impl_->match_options, data.get(), impl_->context.get());
  if (rc >= 0) {
    return true;
  }
  if (rc == PCRE2_ERROR_NOMATCH) {
    return false;
  }
  if (IsLimitError(rc)) {
    return absl::ResourceExhaustedError(absl::StrCat("regular expression /", impl_->pattern,
                                                     "/ reached its match limit on a ", subject.size(),
                                                     "-byte subject: ", ErrorText(rc)));
  }
  return absl::InternalError(absl::StrCat("regular expression /", impl_->pattern, "/: ", ErrorText(rc)));
}

}  // namespace stepflow::sm
