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
  if (options.multiline) {
    flags |= PCRE2_MULTILINE;
  }
  pcre2_compile_context* compile_context = nullptr;
  if (options.javascript) {
    flags |= PCRE2_ALT_BSUX | PCRE2_MATCH_UNSET_BACKREF;
    compile_context = pcre2_compile_context_create(nullptr);
    if (compile_context != nullptr) {
      pcre2_set_compile_extra_options(compile_context, PCRE2_EXTRA_ALT_BSUX);
    }
  }
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  auto impl = std::make_shared<Impl>();
  impl->pattern = std::string(pattern);
  impl->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags, &error,
                                 &error_offset, compile_context));
  if (compile_context != nullptr) {
    pcre2_compile_context_free(compile_context);
  }
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

int BoundedRegex::capture_count() const {
  std::uint32_t count = 0;
  pcre2_pattern_info(impl_->code.get(), PCRE2_INFO_CAPTURECOUNT, &count);
  return static_cast<int>(count);
}

absl::StatusOr<std::optional<BoundedRegex::Match>> BoundedRegex::Search(std::string_view subject,
                                                                         std::size_t start_offset) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create_from_pattern(impl_->code.get(), nullptr));
  if (data == nullptr) {
    return absl::ResourceExhaustedError("out of memory matching a regular expression");
  }
  const int rc = pcre2_match(impl_->code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                             start_offset, impl_->match_options, data.get(), impl_->context.get());
  if (rc == PCRE2_ERROR_NOMATCH) {
    return std::optional<Match>();
  }
  if (rc < 0) {
    if (IsLimitError(rc)) {
      return absl::ResourceExhaustedError(absl::StrCat("regular expression /", impl_->pattern,
                                                       "/ reached its match limit on a ", subject.size(),
                                                       "-byte subject: ", ErrorText(rc)));
    }
    return absl::InternalError(absl::StrCat("regular expression /", impl_->pattern, "/: ", ErrorText(rc)));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
  const std::uint32_t pairs = pcre2_get_ovector_count(data.get());
  Match match;
  const int groups = capture_count() + 1;
  for (int i = 0; i < groups; ++i) {
    if (static_cast<std::uint32_t>(i) < pairs && ovector[2 * i] != PCRE2_UNSET) {
      match.groups.emplace_back(ovector[2 * i], ovector[2 * i + 1]);
    } else {
      match.groups.emplace_back(std::string_view::npos, std::string_view::npos);
    }
  }
  return std::optional<Match>(std::move(match));
}

}  // namespace stepflow::sm
