"""Errors of the Stepflow API as Python exceptions named after their AWS error names.

The server sends every error as a gRPC status whose message starts with the AWS-style error name
("ExecutionDoesNotExist: arn:... does not exist") and repeats that name in the trailing metadata key
``stepflow-error``. ``error_from_rpc`` turns such a status into the exception class of that name (a subclass
of ``StepflowError``); a name this module does not know becomes a plain ``StepflowError`` whose ``name`` is
still the server's. Errors that never reached the server get a name too: ``ServiceUnavailable`` (cannot
connect) and ``Timeout`` (the call's deadline passed on this side).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

import grpc

ERROR_NAME_METADATA_KEY = "stepflow-error"


class StepflowError(Exception):
    """An error answered by (or on the way to) a Stepflow server.

    Attributes: ``name`` the AWS-style error name, ``message`` the server's message (name included),
    ``code`` the gRPC status code.
    """

    def __init__(self, name: str, message: str, code: grpc.StatusCode = grpc.StatusCode.UNKNOWN) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.code = code


# The names the server uses (engine/api), by gRPC code where it is fixed. Each becomes a class below.
_KNOWN_NAMES = (
    # InvalidArgument
    "ValidationException", "InvalidDefinition", "InvalidName", "InvalidArn", "InvalidToken", "InvalidOutput",
    "InvalidExecutionInput", "InvalidArgument",
    # NotFound
    "ResourceNotFound", "StateMachineDoesNotExist", "ExecutionDoesNotExist", "TaskDoesNotExist",
    "DeadLetterDoesNotExist",
    # AlreadyExists
    "ResourceConflict", "StateMachineAlreadyExists", "ExecutionAlreadyExists",
    # FailedPrecondition
    "FailedPrecondition", "ExecutionNotRunning", "ExecutionNotRedrivable", "ExecutionQuarantined", "TaskTimedOut",
    "DeadLetterNotDiscardable", "SemanticsVersionUnsupported", "ConflictException",
    # Authentication and authorization
    "UnrecognizedClientException", "AccessDeniedException",
    # Limits, availability, the rest
    "ThrottlingException", "ResourceExhausted", "ServiceQuotaExceededException", "ServiceUnavailable", "DiskFull", "Timeout", "Cancelled",
    "InternalFailure",
)

ERROR_CLASSES: Dict[str, Type[StepflowError]] = {
    name: type(name, (StepflowError,), {"__doc__": f"The server's {name} error."}) for name in _KNOWN_NAMES
}

# Explicit module attributes so that `from stepflow.errors import ExecutionDoesNotExist` type-checks.
ValidationException = ERROR_CLASSES["ValidationException"]
InvalidDefinition = ERROR_CLASSES["InvalidDefinition"]
InvalidName = ERROR_CLASSES["InvalidName"]
InvalidArn = ERROR_CLASSES["InvalidArn"]
InvalidToken = ERROR_CLASSES["InvalidToken"]
InvalidOutput = ERROR_CLASSES["InvalidOutput"]
InvalidExecutionInput = ERROR_CLASSES["InvalidExecutionInput"]
InvalidArgument = ERROR_CLASSES["InvalidArgument"]
ResourceNotFound = ERROR_CLASSES["ResourceNotFound"]
StateMachineDoesNotExist = ERROR_CLASSES["StateMachineDoesNotExist"]
ExecutionDoesNotExist = ERROR_CLASSES["ExecutionDoesNotExist"]
TaskDoesNotExist = ERROR_CLASSES["TaskDoesNotExist"]
DeadLetterDoesNotExist = ERROR_CLASSES["DeadLetterDoesNotExist"]
ResourceConflict = ERROR_CLASSES["ResourceConflict"]
StateMachineAlreadyExists = ERROR_CLASSES["StateMachineAlreadyExists"]
ExecutionAlreadyExists = ERROR_CLASSES["ExecutionAlreadyExists"]
FailedPrecondition = ERROR_CLASSES["FailedPrecondition"]
ExecutionNotRunning = ERROR_CLASSES["ExecutionNotRunning"]
ExecutionNotRedrivable = ERROR_CLASSES["ExecutionNotRedrivable"]
ExecutionQuarantined = ERROR_CLASSES["ExecutionQuarantined"]
TaskTimedOut = ERROR_CLASSES["TaskTimedOut"]
DeadLetterNotDiscardable = ERROR_CLASSES["DeadLetterNotDiscardable"]
SemanticsVersionUnsupported = ERROR_CLASSES["SemanticsVersionUnsupported"]
UnrecognizedClientException = ERROR_CLASSES["UnrecognizedClientException"]
AccessDeniedException = ERROR_CLASSES["AccessDeniedException"]
ThrottlingException = ERROR_CLASSES["ThrottlingException"]
ResourceExhausted = ERROR_CLASSES["ResourceExhausted"]
ServiceUnavailable = ERROR_CLASSES["ServiceUnavailable"]
DiskFull = ERROR_CLASSES["DiskFull"]
Timeout = ERROR_CLASSES["Timeout"]
Cancelled = ERROR_CLASSES["Cancelled"]
InternalFailure = ERROR_CLASSES["InternalFailure"]
ConflictException = ERROR_CLASSES["ConflictException"]
ServiceQuotaExceededException = ERROR_CLASSES["ServiceQuotaExceededException"]

# The name of an error that carries none (the call never reached the server, or a proxy answered).
_GENERIC_NAMES = {
    grpc.StatusCode.INVALID_ARGUMENT: "ValidationException",
    grpc.StatusCode.NOT_FOUND: "ResourceNotFound",
    grpc.StatusCode.ALREADY_EXISTS: "ResourceConflict",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.DEADLINE_EXCEEDED: "Timeout",
    grpc.StatusCode.UNAVAILABLE: "ServiceUnavailable",
    grpc.StatusCode.CANCELLED: "Cancelled",
    grpc.StatusCode.UNAUTHENTICATED: "UnrecognizedClientException",
    grpc.StatusCode.PERMISSION_DENIED: "AccessDeniedException",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
}

_MAX_NAME_LENGTH = 128


def error_name_prefix(message: str) -> str:
    """The error name at the start of ``message`` ("Name: text"), or "" when it has none."""
    head, sep, _ = message.partition(": ")
    if not sep or not head or len(head) > _MAX_NAME_LENGTH:
        return ""
    if not all(c.isalnum() or c in "._" for c in head) or not head[0].isalpha():
        return ""
    return head


def make_error(name: str, message: str, code: grpc.StatusCode = grpc.StatusCode.UNKNOWN) -> StepflowError:
    """The exception of class ``name`` (a plain StepflowError for a name not known here)."""
    cls = ERROR_CLASSES.get(name, StepflowError)
    return cls(name, message, code)


def _trailer_name(error: grpc.RpcError) -> Optional[str]:
    trailing = getattr(error, "trailing_metadata", None)
    metadata = trailing() if callable(trailing) else None
    for key, value in metadata or ():
        if key == ERROR_NAME_METADATA_KEY:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


def error_from_rpc(error: grpc.RpcError) -> StepflowError:
    """Converts a failed gRPC call (sync or asyncio) into the named exception."""
    code_fn = getattr(error, "code", None)
    code: grpc.StatusCode = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    details_fn = getattr(error, "details", None)
    message: str = (details_fn() if callable(details_fn) else None) or str(code)
    name = _trailer_name(error) or error_name_prefix(message) or _GENERIC_NAMES.get(code, "InternalFailure")
    if not message.startswith(name + ": "):
        message = f"{name}: {message}"
    return make_error(name, message, code)


_CODES: Dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def report_error(result: Any) -> Optional[StepflowError]:
    """The error of one report of a ReportBatch call (a ``TaskReportResult``: code, error, message), as its
    unary call would have raised it; None when it succeeded."""
    if result.code == 0:
        return None
    code = _CODES.get(result.code, grpc.StatusCode.UNKNOWN)
    message: str = result.message or str(code)
    name = result.error or error_name_prefix(message) or _GENERIC_NAMES.get(code, "InternalFailure")
    if not message.startswith(name + ": "):
        message = f"{name}: {message}"
    return make_error(name, message, code)
