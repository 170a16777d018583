#include "engine/mock_dispatcher.h"

#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

absl::Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("mock config ", where, ": ", what));
}

const json::object* ObjectAt(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// "3" -> [3,3]; "1-2" -> [1,2].
bool ParseRange(const std::string& key, int* first, int* last) {
  std::size_t dash = key.find('-');
  if (dash == std::string::npos) {
    if (!absl::SimpleAtoi(key, first) || *first < 0) {
      return false;
    }
    *last = *first;
    return true;
  }
  return absl::SimpleAtoi(key.substr(0, dash), first) && absl::SimpleAtoi(key.substr(dash + 1), last) &&
         *first >= 0 && *last >= *first;
}

absl::StatusOr<MockedResponse> ParseResponse(const json::value& v, const std::string& where) {
  if (!v.is_object()) {
    return Invalid(where, "must be an object with Return or Throw");
  }
  const json::object& o = v.get_object();
  MockedResponse r;
  if (const json::value* ret = o.if_contains("Return")) {
    r.value = *ret;
    return r;
  }
  if (const json::object* thr = ObjectAt(o, "Throw")) {
    r.is_throw = true;
    if (const json::value* e = thr->if_contains("Error"); e != nullptr && e->is_string()) {
      r.error = std::string(e->get_string());
    }
    if (const json::value* c = thr->if_contains("Cause"); c != nullptr && c->is_string()) {
      r.cause = std::string(c->get_string());
    }
    return r;
  }
  return Invalid(where, "must have Return or Throw");
}

}  // namespace

absl::StatusOr<MockTestCase> MockTestCase::FromConfig(const json::value& config, const std::string& state_machine,
                                                      const std::string& test_case) {
  if (!config.is_object()) {
    return Invalid("/", "must be a JSON object");
  }
  const json::object* machines = ObjectAt(config.get_object(), "StateMachines");
  const json::object* responses = ObjectAt(config.get_object(), "MockedResponses");
  if (machines == nullptr || responses == nullptr) {
    return Invalid("/", "needs the objects StateMachines and MockedResponses");
  }
  const json::object* machine = ObjectAt(*machines, state_machine.c_str());
  if (machine == nullptr) {
    return Invalid("/StateMachines", absl::StrCat("has no state machine '", state_machine, "'"));
  }
  const json::object* cases = ObjectAt(*machine, "TestCases");
  const json::object* tc = cases != nullptr ? ObjectAt(*cases, test_case.c_str()) : nullptr;
  if (tc == nullptr) {
    return Invalid(absl::StrCat("/StateMachines/", state_machine, "/TestCases"),
                   absl::StrCat("has no test case '", test_case, "'"));
  }
  MockTestCase result;
  for (const auto& [state, response_name] : *tc) {
    std::string where = absl::StrCat("/StateMachines/", state_machine, "/TestCases/", test_case, "/",
                                     std::string(state));
    if (!response_name.is_string()) {
      return Invalid(where, "must name a mocked response");
    }
    std::string name(response_name.get_string());
    const json::object* by_index = ObjectAt(*responses, name.c_str());
    if (by_index == nullptr) {
      return Invalid(where, absl::StrCat("names mocked response '", name, "', which MockedResponses lacks"));
    }
    std::vector<Range>& ranges = result.by_state_[std::string(state)];
    for (const auto& [key, v] : *by_index) {
      std::string rwhere = absl::StrCat("/MockedResponses/", name, "/", std::string(key));
      Range range{};
      if (!ParseRange(std::string(key), &range.first, &range.last)) {
        return Invalid(rwhere, "key must be an invocation index like \"0\" or a range like \"1-2\"");
      }
      ASSIGN_OR_RETURN(range.response, ParseResponse(v, rwhere));
      ranges.push_back(std::move(range));
    }
  }
  return result;
}

absl::StatusOr<MockedResponse> MockTestCase::Response(const std::string& state, int invocation) const {
  auto it = by_state_.find(state);
  if (it == by_state_.end()) {
    return absl::NotFoundError(absl::StrCat("Task state '", state, "' has no mocked response in the test case"));
  }
  for (const Range& r : it->second) {
    if (invocation >= r.first && invocation <= r.last) {
      return r.response;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("Task state '", state, "' has no mocked response for invocation ", invocation));
}

absl::Status MockDispatcher::Dispatch(const TaskDispatch& task) {
  int& count = invocations_[{task.execution_id, task.state_name}];
  ASSIGN_OR_RETURN(MockedResponse response, mocks_.Response(task.state_name, count));
  ++count;
  deliver_(task, response);
  return absl::OkStatus();
}

void MockDispatcher::Forget(const std::string& execution_id) {
  auto it = invocations_.lower_bound({execution_id, ""});
  while (it != invocations_.end() && it->first.first == execution_id) {
    it = invocations_.erase(it);
  }
}

}  // namespace stepflow::engine
