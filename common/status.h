#pragma once
// Helpers for absl::Status propagation, shared by every module.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STEPFLOW_CONCAT_INNER_(a, b) a##b
#define STEPFLOW_CONCAT_(a, b) STEPFLOW_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` yields a non-OK absl::Status.
#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    ::absl::Status stepflow_status_ = (expr);   \
    if (!stepflow_status_.ok()) {               \
      return stepflow_status_;                  \
    }                                           \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Fn())`: assigns the value of an absl::StatusOr or returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(STEPFLOW_CONCAT_(stepflow_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) {                             \
    return tmp.status();                       \
  }                                            \
  lhs = std::move(tmp).value()
