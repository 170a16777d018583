#include "common/precise_json.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

namespace stepflow::common {
namespace json = boost::json;
namespace {

// Boost.JSON's own value builder (detail::handler), except for doubles: Boost 1.81 converts a number's digits to a
// double with a multiplication by a power of ten that is not always correctly rounded (e.g. 56 eights become
// 8.888888888888889E55 and that text becomes another double), so a value written and read back could move by a
// unit in the last place. std::from_chars rounds correctly: the text Boost.JSON's serializer writes for a double
// (the shortest that reads back as it) then reads back as the same double, as Jackson's in AWS does.
class PreciseNumbersHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::system::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::system::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&) {
    number_.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&) {
    number_.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, boost::system::error_code&) {
    std::string_view text(s.data(), s.size());
    if (!number_.empty()) {
      number_.append(s.data(), s.size());
      text = number_;
    }
    double precise = 0;
    const std::from_chars_result r = std::from_chars(text.data(), text.data() + text.size(), precise);
    // Out of range: Boost's own infinity (refused below, naming the number) or zero (an underflow, accepted).
    st.push_double(r.ec == std::errc() && r.ptr == text.data() + text.size() ? precise : d);
    number_.clear();
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  std::string number_;  // a number's text so far, when the parser reported it in parts
};

// Parses `text` as json::stream_parser's write_some and then finish do, with PreciseNumbersHandler's numbers. Text
// after the value is error::extra_data when `extra_data_is_error`, otherwise the "incomplete JSON" of finish.
std::optional<json::value> ParseWithPreciseNumbers(std::string_view text, const json::parse_options& options,
                                                   bool extra_data_is_error, boost::system::error_code& ec,
                                                   std::size_t& consumed) {
  json::basic_parser<PreciseNumbersHandler> parser(options);
  parser.handler().st.reset();
  consumed = parser.write_some(/*more=*/true, text.data(), text.size(), ec);
  if (!ec && extra_data_is_error && consumed < text.size()) {
    ec = json::error::extra_data;
  }
  if (!ec) {
    parser.write_some(/*more=*/false, nullptr, 0, ec);
  }
  if (ec) {
    return std::nullopt;
  }
  return parser.handler().st.release();
}

}  // namespace

std::optional<json::value> ParsePreciseJson(std::string_view text, boost::system::error_code& ec,
                                            const json::parse_options& options, std::size_t* consumed,
                                            TextAfterValue after) {
  std::size_t read = 0;
  std::optional<json::value> value =
      ParseWithPreciseNumbers(text, options, after == TextAfterValue::kExtraData, ec, read);
  if (consumed != nullptr) {
    *consumed = read;
  }
  return value;
}

}  // namespace stepflow::common
