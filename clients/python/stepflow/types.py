"""The typed results of the Stepflow client: frozen dataclasses built from the API's messages.

JSON text fields (definitions, inputs, outputs, history details) stay text, exactly as the server sent them;
the ``*_value`` properties parse them. Timestamps become timezone-aware ``datetime`` values (``None`` when
unset).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, List, Optional, Sequence, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from stepflow.v1 import stepflow_pb2 as pb

T = TypeVar("T")


class StateMachineType(enum.Enum):
    STANDARD = pb.STANDARD
    EXPRESS = pb.EXPRESS


class ExecutionStatus(enum.Enum):
    RUNNING = pb.RUNNING
    SUCCEEDED = pb.SUCCEEDED
    FAILED = pb.FAILED
    TIMED_OUT = pb.TIMED_OUT
    ABORTED = pb.ABORTED
    QUARANTINED = pb.QUARANTINED


def to_datetime(ts: Timestamp, present: bool) -> Optional[datetime]:
    if not present:
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=timezone.utc)


def to_timestamp(value: datetime) -> Timestamp:
    """A Timestamp for ``value`` (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(timezone.utc).replace(tzinfo=None))
    return ts


def _json_or_none(text: str) -> Any:
    return json.loads(text) if text else None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_page_token`` is "" on the last page."""

    items: List[T]
    next_page_token: str


@dataclass(frozen=True)
class Diagnostic:
    location: str  # JSON pointer into the definition
    code: str
    message: str


@dataclass(frozen=True)
class Validation:
    valid: bool
    diagnostics: List[Diagnostic]


@dataclass(frozen=True)
class StateMachine:
    name: str
    arn: str
    definition: str  # JSON text as submitted ("" in lists)
    type: StateMachineType
    version: int  # 1 on create, +1 on every update
    creation_date: Optional[datetime]
    update_date: Optional[datetime]
    # Create/update with ``publish=True``: the version published (AWS's stateMachineVersionArn); "" otherwise.
    state_machine_version_arn: str = ""

    @staticmethod
    def from_pb(m: pb.StateMachine) -> "StateMachine":
        return StateMachine(
            name=m.name, arn=m.arn, definition=m.definition,
            type=StateMachineType(m.type) if m.type else StateMachineType.STANDARD, version=m.version,
            creation_date=to_datetime(m.creation_date, m.HasField("creation_date")),
            update_date=to_datetime(m.update_date, m.HasField("update_date")),
            state_machine_version_arn=m.state_machine_version_arn)


@dataclass(frozen=True)
class Execution:
    arn: str
    name: str
    state_machine_arn: str
    state_machine_version: int
    status: ExecutionStatus
    input: str  # JSON text ("" in lists)
    output: str  # JSON text; SUCCEEDED only
    error: str
    cause: str
    start_date: Optional[datetime]
    stop_date: Optional[datetime]  # None while RUNNING
    redrive_count: int
    # The published version and alias it was started on ("" when started on the state machine itself).
    state_machine_version_arn: str = ""
    state_machine_alias_arn: str = ""

    @property
    def input_value(self) -> Any:
        return _json_or_none(self.input)

    @property
    def output_value(self) -> Any:
        return _json_or_none(self.output)

    @staticmethod
    def from_pb(m: pb.Execution) -> "Execution":
        return Execution(
            arn=m.arn, name=m.name, state_machine_arn=m.state_machine_arn,
            state_machine_version=m.state_machine_version, status=ExecutionStatus(m.status), input=m.input,
            output=m.output, error=m.error, cause=m.cause,
            start_date=to_datetime(m.start_date, m.HasField("start_date")),
            stop_date=to_datetime(m.stop_date, m.HasField("stop_date")), redrive_count=m.redrive_count,
            state_machine_version_arn=m.state_machine_version_arn, state_machine_alias_arn=m.state_machine_alias_arn)


@dataclass(frozen=True)
class StateMachineVersion:
    """A published version (arn:...:stateMachine:NAME:N): an immutable snapshot of one revision."""
    arn: str
    state_machine_arn: str
    version: int
    revision: int  # the StateMachine.version it captured
    description: str
    definition: str  # JSON text ("" in lists)
    creation_date: Optional[datetime]

    @staticmethod
    def from_pb(m: pb.StateMachineVersion) -> "StateMachineVersion":
        return StateMachineVersion(
            arn=m.arn, state_machine_arn=m.state_machine_arn, version=m.version, revision=m.revision,
            description=m.description, definition=m.definition,
            creation_date=to_datetime(m.creation_date, m.HasField("creation_date")))


@dataclass(frozen=True)
class Route:
    """One route of an alias: a version ARN and its share of the starts (0..100)."""
    version_arn: str
    weight: int


@dataclass(frozen=True)
class StateMachineAlias:
    """An alias (arn:...:stateMachine:NAME:ALIAS) routing starts to one or two versions by weight."""
    arn: str
    name: str
    state_machine_arn: str
    description: str
    routing: List[Route]
    creation_date: Optional[datetime]
    update_date: Optional[datetime]

    @staticmethod
    def from_pb(m: pb.StateMachineAlias) -> "StateMachineAlias":
        return StateMachineAlias(
            arn=m.arn, name=m.name, state_machine_arn=m.state_machine_arn, description=m.description,
            routing=[Route(r.version_arn, r.weight) for r in m.routing],
            creation_date=to_datetime(m.creation_date, m.HasField("creation_date")),
            update_date=to_datetime(m.update_date, m.HasField("update_date")))


@dataclass(frozen=True)
class HistoryEvent:
    """An AWS history event: ``type`` is AWS's name, ``details`` the JSON text of its ``details_key`` object."""

    id: int
    previous_event_id: int
    timestamp: Optional[datetime]
    type: str
    details_key: str
    details: str

    @property
    def details_value(self) -> Any:
        return _json_or_none(self.details)

    @staticmethod
    def from_pb(m: pb.HistoryEvent) -> "HistoryEvent":
        return HistoryEvent(id=m.id, previous_event_id=m.previous_event_id,
                            timestamp=to_datetime(m.timestamp, m.HasField("timestamp")), type=m.type,
                            details_key=m.details_key, details=m.details)


@dataclass(frozen=True)
class Task:
    """A task handed out by PollTask: its opaque token, its input (JSON text) and what the worker knows of it."""

    token: str
    queue: str
    input: str
    execution_arn: str
    state_machine_arn: str
    state_name: str
    attempt: int  # 0 for the first try, n for the n-th retry
    deadline: Optional[datetime]  # when TimeoutSeconds runs out; None without one
    heartbeat_seconds: int  # 0 = none
    scheduled: Optional[datetime]

    @property
    def input_value(self) -> Any:
        return _json_or_none(self.input)

    @staticmethod
    def from_pb(m: pb.PollTaskResponse, queue: str) -> "Task":
        c = m.context
        return Task(token=m.task_token, queue=m.queue or queue, input=m.input, execution_arn=c.execution_arn,
                    state_machine_arn=c.state_machine_arn, state_name=c.state_name, attempt=c.attempt,
                    deadline=to_datetime(c.deadline, c.HasField("deadline")),
                    heartbeat_seconds=c.heartbeat_seconds,
                    scheduled=to_datetime(c.scheduled, c.HasField("scheduled")))


@dataclass(frozen=True)
class TaskAttempt:
    attempt: int
    worker_identity: str
    scheduled: Optional[datetime]
    started: Optional[datetime]
    ended: Optional[datetime]
    error: str
    cause: str

    @staticmethod
    def from_pb(m: pb.TaskAttempt) -> "TaskAttempt":
        return TaskAttempt(attempt=m.attempt, worker_identity=m.worker_identity,
                           scheduled=to_datetime(m.scheduled, m.HasField("scheduled")),
                           started=to_datetime(m.started, m.HasField("started")),
                           ended=to_datetime(m.ended, m.HasField("ended")), error=m.error, cause=m.cause)


@dataclass(frozen=True)
class DeadLetter:
    id: str
    queue: str
    execution_arn: str
    state_machine_arn: str
    state_name: str
    input: str
    attempts: List[TaskAttempt]  # oldest first
    error: str
    cause: str
    created: Optional[datetime]

    @staticmethod
    def from_pb(m: pb.DeadLetter) -> "DeadLetter":
        return DeadLetter(id=m.id, queue=m.queue, execution_arn=m.execution_arn,
                          state_machine_arn=m.state_machine_arn, state_name=m.state_name, input=m.input,
                          attempts=[TaskAttempt.from_pb(a) for a in m.attempts], error=m.error, cause=m.cause,
                          created=to_datetime(m.created, m.HasField("created")))


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters a list, redrive or discard applies to; every field is optional."""

    queue: str = ""
    state_machine: str = ""  # name or ARN
    error: str = ""  # the last attempt's error name
    created_after: Optional[datetime] = None  # inclusive
    created_before: Optional[datetime] = None  # exclusive

    def to_pb(self) -> pb.DeadLetterFilter:
        f = pb.DeadLetterFilter(queue=self.queue, state_machine=self.state_machine, error=self.error)
        if self.created_after is not None:
            f.created_after.CopyFrom(to_timestamp(self.created_after))
        if self.created_before is not None:
            f.created_before.CopyFrom(to_timestamp(self.created_before))
        return f


@dataclass(frozen=True)
class DeadLetterOutcome:
    id: str
    execution_arn: str
    error: str  # "" when it succeeded, else "ErrorName: message"

    @staticmethod
    def from_pb(m: pb.DeadLetterOutcome) -> "DeadLetterOutcome":
        return DeadLetterOutcome(id=m.id, execution_arn=m.execution_arn, error=m.error)


def outcomes(items: Sequence[pb.DeadLetterOutcome]) -> List[DeadLetterOutcome]:
    return [DeadLetterOutcome.from_pb(o) for o in items]


def diagnostics(items: Sequence[pb.Diagnostic]) -> List[Diagnostic]:
    return [Diagnostic(location=d.location, code=d.code, message=d.message) for d in items]


__all__ = [
    "StateMachineType", "ExecutionStatus", "Page", "Diagnostic", "Validation", "StateMachine", "Execution",
    "HistoryEvent", "Task", "TaskAttempt", "DeadLetter", "DeadLetterFilter", "DeadLetterOutcome",
]


@dataclass(frozen=True)
class InspectionErrorDetails:
    """AWS's errorDetails: what handled a RETRIABLE or CAUGHT_ERROR state's failure (None = not that kind)."""
    catch_index: Optional[int] = None
    retry_index: Optional[int] = None
    retry_backoff_interval_seconds: Optional[int] = None


@dataclass(frozen=True)
class InspectionData:
    """AWS's inspectionData (DEBUG and TRACE): each payload JSON text, "" when the state did not reach that
    step; the ``*_value`` helper parses one."""
    input: str
    after_input_path: str
    after_parameters: str
    after_arguments: str
    result: str
    after_result_selector: str
    after_result_path: str
    variables: str
    error_details: Optional[InspectionErrorDetails]
    # Map states: the items after ItemsPath, every iteration's input after ItemSelector, the numeric fields.
    after_items_path: str = ""
    after_item_selector: str = ""
    max_concurrency: Optional[int] = None
    tolerated_failure_count: Optional[int] = None
    tolerated_failure_percentage: Optional[float] = None

    @staticmethod
    def value(text: str) -> Any:
        """A payload parsed (None when absent)."""
        return _json_or_none(text)

    @staticmethod
    def from_pb(m: pb.TestStateInspectionData) -> "InspectionData":
        details: Optional[InspectionErrorDetails] = None
        if m.HasField("error_details"):
            e = m.error_details
            details = InspectionErrorDetails(
                catch_index=e.catch_index if e.HasField("catch_index") else None,
                retry_index=e.retry_index if e.HasField("retry_index") else None,
                retry_backoff_interval_seconds=(e.retry_backoff_interval_seconds
                                                if e.HasField("retry_backoff_interval_seconds") else None))
        return InspectionData(
            input=m.input, after_input_path=m.after_input_path, after_parameters=m.after_parameters,
            after_arguments=m.after_arguments, result=m.result, after_result_selector=m.after_result_selector,
            after_result_path=m.after_result_path, variables=m.variables, error_details=details,
            after_items_path=m.after_items_path, after_item_selector=m.after_item_selector,
            max_concurrency=m.max_concurrency if m.HasField("max_concurrency") else None,
            tolerated_failure_count=m.tolerated_failure_count if m.HasField("tolerated_failure_count") else None,
            tolerated_failure_percentage=(m.tolerated_failure_percentage
                                          if m.HasField("tolerated_failure_percentage") else None))


@dataclass(frozen=True)
class TestStateResult:
    """AWS's TestState answer. ``status``: SUCCEEDED, FAILED, RETRIABLE or CAUGHT_ERROR; ``next_state``: where a
    SUCCEEDED or CAUGHT_ERROR state goes ("" when it ends the machine), the state itself when RETRIABLE."""
    __test__ = False  # not a pytest test class
    status: str
    output: str
    error: str
    cause: str
    next_state: str
    inspection_data: Optional[InspectionData]  # DEBUG and TRACE only

    @property
    def output_value(self) -> Any:
        return _json_or_none(self.output)

    @staticmethod
    def from_pb(m: pb.TestStateResponse) -> "TestStateResult":
        return TestStateResult(
            status=m.status, output=m.output, error=m.error, cause=m.cause, next_state=m.next_state,
            inspection_data=InspectionData.from_pb(m.inspection_data) if m.HasField("inspection_data") else None)
