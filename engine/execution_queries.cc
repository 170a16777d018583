// The read side of the durable engine: describe, list, history, and the waits. Everything here reads
// committed state from the store on the calling thread; waits sleep on the partition's CommitWatchers.

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/durable_engine.h"
#include "engine/errors.h"
#include "engine/execution_record.h"
#include "engine/history_rows.h"
#include "engine/names.h"
#include "engine/paging.h"
#include "engine/qualified_arns.h"
#include "engine/records.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

// Events read per pass by WaitForHistory.
constexpr int kWaitBatchEvents = 1000;

std::chrono::system_clock::time_point Deadline(common::EpochMillis deadline) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(deadline));
}

// What an execution adds to a list page (input and output are not listed).
std::size_t ExecutionListBytes(const ExecutionInfoRecord& r) {
  constexpr std::size_t kFixedBytes = 64;  // times, status, counters, field tags and lengths
  return kFixedBytes + r.arn.size() + r.name.size() + r.state_machine_arn.size() + r.state_machine_name.size() +
         r.error.size() + r.cause.size();
}

// Index entries one list page may examine when a name prefix skips most of them; then the page ends early
// (possibly empty) with a token that resumes the scan.
constexpr std::size_t kMaxIndexEntriesPerPage = 100'000;

constexpr sm::ExecutionStatus kAllStatuses[] = {sm::ExecutionStatus::kRunning, sm::ExecutionStatus::kSucceeded,
                                                sm::ExecutionStatus::kFailed, sm::ExecutionStatus::kTimedOut,
                                                sm::ExecutionStatus::kAborted};

// The name in an execution ARN (standard "...:execution:SM:NAME", express "...:express:SM:NAME:UUID"); names
// and state machine names hold no ':' (ValidateName).
std::string_view ExecutionNameOfArn(std::string_view arn) {
  std::size_t from = 0;
  for (int colon = 0; colon < 7; ++colon) {
    std::size_t at = arn.find(':', from);
    if (at == std::string_view::npos) {
      return {};
    }
    from = at + 1;
  }
  std::string_view rest = arn.substr(from);
  return rest.substr(0, rest.find(':'));
}

// The state machine name of a filter (name or ARN; "" = all), checked to exist.
absl::StatusOr<std::string> KnownMachine(DefinitionStore& definitions, const std::string& state_machine) {
  if (state_machine.empty()) {
    return std::string();
  }
  ASSIGN_OR_RETURN(std::string machine, StateMachineNameOf(state_machine));
  ASSIGN_OR_RETURN(bool known, definitions.Known(machine));
  if (!known) {
    return errors::StateMachineDoesNotExist(StateMachineArn(machine));
  }
  return machine;
}

// A version or alias ARN as the start recorded it (canonical: a version number without leading zeros), its state
// machine checked to exist.
absl::StatusOr<std::string> KnownQualifiedArn(DefinitionStore& definitions, const std::string& arn) {
  ASSIGN_OR_RETURN(QualifiedArn q, ParseQualifiedArn(arn));
  ASSIGN_OR_RETURN(bool known, definitions.Known(q.state_machine));
  if (!known) {
    return errors::StateMachineDoesNotExist(StateMachineArn(q.state_machine));
  }
  return q.version > 0 ? VersionArn(q.state_machine, q.version) : AliasArn(q.state_machine, q.alias);
}

// The index prefix that lists `filter`'s executions: by version or alias ARN (the by_qualified_arn index;
// status and quarantine filters do not combine with it), or by state machine (`machine`, "" = all) and status.
absl::StatusOr<std::string> ListPrefix(DefinitionStore& definitions, const ExecutionFilter& filter) {
  if (!IsQualifiedArn(filter.state_machine)) {
    ASSIGN_OR_RETURN(std::string machine, KnownMachine(definitions, filter.state_machine));
    return IndexPrefix(machine, filter.status ? sm::ExecutionStatusName(*filter.status) : "");
  }
  if (filter.status || filter.quarantined) {
    RETURN_IF_ERROR(ParseQualifiedArn(filter.state_machine).status());
    return errors::Validation(
        "a status filter cannot be combined with a version or alias ARN; list by the state machine instead");
  }
  ASSIGN_OR_RETURN(std::string arn, KnownQualifiedArn(definitions, filter.state_machine));
  return QualifiedIndexPrefix(arn);
}

common::EpochMillis SystemNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<ExecutionInfoRecord> DurableEngine::ReadExecution(const std::string& execution_arn) {
  RETURN_IF_ERROR(ValidateExecutionArn(execution_arn));
  RETURN_IF_ERROR(AwaitRecovered(execution_arn));
  if (std::optional<QuarantinedExecution> q = Quarantined(execution_arn)) {
    return q->stored.record;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(storage::Column::kExecutions, execution_arn));
  if (!value) {
    return errors::ExecutionDoesNotExist(execution_arn);
  }
  ASSIGN_OR_RETURN(StoredExecution stored, DecodeExecutionRecord(*value));
  return std::move(stored.record);
}

absl::StatusOr<std::vector<HistoryEventRecord>> DurableEngine::ReadEventsAfter(const std::string& execution_arn,
                                                                               std::int64_t after_event_id, int limit) {
  bool more = false;
  return ReadHistoryAfter(*store_, execution_arn, after_event_id, limit, &more, kMaxPageBytes);
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::DescribeExecution(const std::string& execution_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return ReadExecution(execution_arn);
}

absl::StatusOr<Page<ExecutionInfoRecord>> DurableEngine::ListExecutions(const ExecutionFilter& filter, int page_size,
                                                                        const std::string& page_token) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  if (filter.quarantined && !IsQualifiedArn(filter.state_machine)) {
    ASSIGN_OR_RETURN(std::string machine, KnownMachine(*definitions_, filter.state_machine));
    RETURN_IF_ERROR(AwaitRecoveryEnd());
    Page<ExecutionInfoRecord> page = ListQuarantined(machine);
    std::erase_if(page.items, [&](const ExecutionInfoRecord& r) { return !r.name.starts_with(filter.name_prefix); });
    return page;
  }
  ASSIGN_OR_RETURN(const std::string prefix, ListPrefix(*definitions_, filter));
  ASSIGN_OR_RETURN(std::string start_after, DecodePageToken(page_token, prefix));
  if (start_after.empty() && filter.started_before) {
    start_after = prefix;
    storage::AppendUint64BigEndian(
        start_after, static_cast<std::uint64_t>(std::max<common::EpochMillis>(*filter.started_before, 0)));
  }
  const int limit = ClampPageSize(page_size);
  std::vector<std::pair<std::string, std::string>> found;  // (index key, execution id), newest first
  bool more = false;
  std::size_t scanned = 0;
  std::string resume_after;  // set when the scan stopped at kMaxIndexEntriesPerPage
  RETURN_IF_ERROR(
      store_->Scan(storage::Column::kIndexes, prefix, start_after, true, [&](std::string_view key, std::string_view) {
        std::string_view id = IndexKeyExecutionId(prefix, key);
        if (id.empty()) {
          return true;
        }
        if (filter.started_after && IndexKeyStart(prefix, key) < *filter.started_after) {
          return false;
        }
        if (static_cast<int>(found.size()) == limit) {
          more = true;
          return false;
        }
        if (++scanned > kMaxIndexEntriesPerPage) {
          more = true;
          resume_after = key;
          return false;
        }
        if (ExecutionNameOfArn(id).starts_with(filter.name_prefix)) {
          found.emplace_back(std::string(key), std::string(id));
        }
        return true;
      }));
  {
    // The page's executions that recovery has not reached yet are replayed first, all at once, so that those
    // it quarantines are shown as such.
    std::vector<std::string> ids;
    for (const auto& [key, id] : found) {
      ids.push_back(id);
    }
    RETURN_IF_ERROR(AwaitRecovered(ids));
  }
  Page<ExecutionInfoRecord> page;
  std::size_t bytes = 0;
  std::string_view last_key = resume_after;
  bool cut_by_bytes = false;
  for (const auto& [key, id] : found) {
    absl::StatusOr<ExecutionInfoRecord> record = ReadExecution(id);
    if (!record.ok()) {
      return absl::IsNotFound(record.status())
                 ? absl::DataLossError(absl::StrCat("index entry for missing execution ", id))
                 : record.status();
    }
    record->input.clear();
    record->output.clear();
    const std::size_t size = ExecutionListBytes(*record);
    if (!page.items.empty() && size > kMaxPageBytes - std::min(bytes, kMaxPageBytes)) {
      more = true;  // the rest of `found` goes to the next page, which resumes after the last item taken
      cut_by_bytes = true;
      break;
    }
    bytes += size;
    last_key = key;
    page.items.push_back(*std::move(record));
  }
  if (!cut_by_bytes && !resume_after.empty()) {
    last_key = resume_after;  // every match was taken: resume after the last entry examined
  }
  if (more && !last_key.empty()) {
    page.next_page_token = EncodePageToken(last_key);
  }
  OverlayQuarantined(filter, page.items);
  return page;
}

absl::StatusOr<ExecutionCounts> DurableEngine::CountExecutions(const std::string& state_machine) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  // The scope counted: a state machine's name ("" = all), or a version or alias ARN as the start recorded it.
  std::string scope;
  if (IsQualifiedArn(state_machine)) {
    ASSIGN_OR_RETURN(scope, KnownQualifiedArn(*definitions_, state_machine));
  } else {
    ASSIGN_OR_RETURN(scope, KnownMachine(*definitions_, state_machine));
  }
  RETURN_IF_ERROR(AwaitRecoveryEnd());  // the quarantined ones are subtracted: every one must be known
  ASSIGN_OR_RETURN(StatusCounts stored, ReadExecutionCounts(*store_, scope));
  ExecutionCounts counts;
  for (sm::ExecutionStatus status : kAllStatuses) {
    auto it = stored.find(sm::ExecutionStatusName(status));
    counts.by_status[status] = it == stored.end() ? 0 : it->second;
  }
  {
    // Quarantined executions keep their RUNNING index rows (quarantine writes nothing), so the counts hold them.
    std::lock_guard<std::mutex> lock(quarantine_mu_);
    for (const auto& [id, q] : quarantined_) {
      const ExecutionInfoRecord& r = q.stored.record;
      if (scope.empty() || r.state_machine_name == scope || r.version_arn == scope || r.alias_arn == scope) {
        ++counts.quarantined;
      }
    }
  }
  counts.by_status[sm::ExecutionStatus::kRunning] -= counts.quarantined;
  return counts;
}

void DurableEngine::OverlayQuarantined(const ExecutionFilter& filter, std::vector<ExecutionInfoRecord>& records) const {
  const bool read_quarantined =
      std::any_of(records.begin(), records.end(), [](const ExecutionInfoRecord& r) { return r.quarantined; });
  if (quarantined_count_.load() == 0 && !read_quarantined) {
    return;
  }
  std::lock_guard<std::mutex> lock(quarantine_mu_);
  std::erase_if(records, [&](ExecutionInfoRecord& r) {
    auto it = quarantined_.find(r.arn);
    if (it != quarantined_.end()) {
      r.quarantined = true;
      r.quarantine_reason = it->second.reason;
    }
    // One read as quarantined is not running either, even if an operator has ended it since the read.
    return r.quarantined && filter.status == sm::ExecutionStatus::kRunning;
  });
}

Page<ExecutionInfoRecord> DurableEngine::ListQuarantined(const std::string& machine) const {
  Page<ExecutionInfoRecord> page;
  std::lock_guard<std::mutex> lock(quarantine_mu_);
  for (const auto& [id, q] : quarantined_) {
    if (machine.empty() || q.stored.record.state_machine_name == machine) {
      page.items.push_back(q.stored.record);
      page.items.back().input.clear();
    }
  }
  return page;
}

absl::StatusOr<Page<HistoryEventRecord>> DurableEngine::GetExecutionHistory(const std::string& execution_arn,
                                                                            int page_size,
                                                                            const std::string& page_token,
                                                                            bool reverse_order) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  RETURN_IF_ERROR(ReadExecution(execution_arn).status());
  // A token is the history key of the last event returned (a row key in version 1; the key the event
  // would have as a row of its own since version 2).
  const std::string prefix = HistoryPrefix(execution_arn);
  ASSIGN_OR_RETURN(std::string last_key, DecodePageToken(page_token, prefix));
  const std::int64_t last = last_key.empty() ? 0 : HistoryKeyEventId(prefix, last_key);
  if (last < 0) {
    return errors::InvalidToken("the page token is not one this listing returned");
  }
  const int limit = ClampPageSize(page_size);
  Page<HistoryEventRecord> page;
  bool more = false;
  ASSIGN_OR_RETURN(page.items, reverse_order
                                   ? ReadHistoryBefore(*store_, execution_arn, last, limit, &more, kMaxPageBytes)
                                   : ReadHistoryAfter(*store_, execution_arn, last, limit, &more, kMaxPageBytes));
  if (more && !page.items.empty()) {
    page.next_page_token = EncodePageToken(HistoryKey(execution_arn, page.items.back().id));
  }
  return page;
}

absl::StatusOr<std::vector<HistoryEventRecord>> DurableEngine::WaitForHistory(const std::string& execution_arn,
                                                                              std::int64_t after_event_id,
                                                                              common::EpochMillis deadline) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  RETURN_IF_ERROR(ValidateExecutionArn(execution_arn));
  CommitWatchers& watchers = PartitionFor(execution_arn).watchers();
  CommitWatchers::Watch watch(watchers, execution_arn);
  while (true) {
    // The record before the events: an execution that ends between the two reads then still has its last
    // events read (they are committed with its final status). Read the other way round, a loop that ran to its
    // end in between looked like one that had ended with no event after `after_event_id`.
    ASSIGN_OR_RETURN(ExecutionInfoRecord record, ReadExecution(execution_arn));
    ASSIGN_OR_RETURN(std::vector<HistoryEventRecord> events,
                     ReadEventsAfter(execution_arn, after_event_id, kWaitBatchEvents));
    if (!events.empty() || record.status != sm::ExecutionStatus::kRunning) {
      return events;
    }
    if (!watch.WaitForCommit(Deadline(WaitSlice(deadline)))) {
      if (watchers.closed()) {
        return errors::ShuttingDown();
      }
      if (SystemNow() >= deadline) {
        return std::vector<HistoryEventRecord>();
      }
    }
  }
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::WaitForCompletion(const std::string& execution_arn,
                                                                     common::EpochMillis deadline) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  RETURN_IF_ERROR(ValidateExecutionArn(execution_arn));
  CommitWatchers& watchers = PartitionFor(execution_arn).watchers();
  CommitWatchers::Watch watch(watchers, execution_arn, CommitWatchers::Interest::kEnd);
  ASSIGN_OR_RETURN(std::optional<ExecutionInfoRecord> ended,
                   AwaitEnd(watchers, watch, execution_arn, deadline, /*read_first=*/true));
  if (!ended.has_value()) {
    return errors::WaitTimedOut(execution_arn);
  }
  return *std::move(ended);
}

absl::StatusOr<ExecutionInfoRecord> DurableEngine::StartExecutionAndWait(const std::string& state_machine,
                                                                         const std::string& name,
                                                                         const std::string& input,
                                                                         common::EpochMillis deadline) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  ASSIGN_OR_RETURN(StartRequest request, MakeStartRequest(state_machine, name, input));
  const std::string id = request.info.execution_arn;
  CommitWatchers& watchers = PartitionFor(id).watchers();
  // Before the start is submitted: every end committed from now on wakes it, the start's own included.
  CommitWatchers::Watch watch(watchers, id, CommitWatchers::Interest::kEnd);
  ASSIGN_OR_RETURN(ExecutionInfoRecord started, SubmitStart(std::move(request)));
  if (started.status != sm::ExecutionStatus::kRunning) {
    return started;  // it ended in its start's commit, or a start of an ended execution's name answered it
  }
  ASSIGN_OR_RETURN(std::optional<ExecutionInfoRecord> ended,
                   AwaitEnd(watchers, watch, id, deadline, /*read_first=*/false));
  return ended.has_value() ? *std::move(ended) : started;
}

absl::StatusOr<std::optional<ExecutionInfoRecord>> DurableEngine::AwaitEnd(CommitWatchers& watchers,
                                                                           CommitWatchers::Watch& watch,
                                                                           const std::string& id,
                                                                           common::EpochMillis deadline,
                                                                           bool read_first) {
  for (bool read = read_first;; read = true) {
    if (read) {
      ASSIGN_OR_RETURN(ExecutionInfoRecord record, ReadExecution(id));
      if (record.status != sm::ExecutionStatus::kRunning) {
        return record;
      }
    }
    // In a cluster a wait is cut into slices (WaitSlice): the partition may move to another node, whose commits
    // wake no one here, so the record is read after each.
    if (!watch.WaitForCommit(Deadline(WaitSlice(deadline)))) {
      if (watchers.closed()) {
        return errors::ShuttingDown();
      }
      if (SystemNow() >= deadline) {
        return std::nullopt;
      }
    }
  }
}

absl::StatusOr<StateMachineInfo> DurableEngine::DescribeStateMachineForExecution(const std::string& execution_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  ASSIGN_OR_RETURN(ExecutionInfoRecord record, ReadExecution(execution_arn));
  return definitions_->Version(record.state_machine_name, record.state_machine_version);
}

}  // namespace stepflow::engine
