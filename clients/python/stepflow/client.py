"""The synchronous client of the Stepflow public API (proto/stepflow/v1/stepflow.proto).

    with stepflow.Client.connect("127.0.0.1:7233") as client:
        sm = client.create_state_machine("hello", definition)
        execution = client.start_execution("hello", {"who": "world"})
        for event in client.get_execution_history(execution.arn):
            print(event.type)

Every method raises the ``StepflowError`` subclass named after the server's AWS error name
(``ExecutionDoesNotExist``, ``InvalidDefinition``, ...; see stepflow.errors). Inputs and outputs are JSON:
pass any JSON-serialisable value (a ``str`` is taken as JSON text already). ``list_*`` and
``get_execution_history`` are iterators that fetch page after page; ``*_page`` methods return one page.

Thread-safety: a Client may be used from many threads at once (one gRPC channel).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterator, List, Optional, Tuple, TypeVar

import grpc

from stepflow import _requests as rq
from stepflow.errors import StepflowError, error_from_rpc, make_error, report_error
from stepflow.options import ClientOptions
from stepflow.types import (DeadLetter, DeadLetterFilter, DeadLetterOutcome, Execution, ExecutionStatus,
                            HistoryEvent, Page, Route, StateMachine, StateMachineAlias, StateMachineType,
                            StateMachineVersion, Task, TestStateResult, Validation, diagnostics,
                            outcomes)
from stepflow.v1 import stepflow_pb2 as pb
from stepflow.v1 import stepflow_pb2_grpc as _pb_grpc

T = TypeVar("T")
# The generated service stubs are untyped (grpc_python_plugin writes no .pyi).
pb_grpc: Any = _pb_grpc


def open_channel(address: str, options: ClientOptions) -> grpc.Channel:
    creds = options.channel_credentials()
    if creds is None:
        return grpc.insecure_channel(address, options=options.channel_options())
    return grpc.secure_channel(address, creds, options=options.channel_options())


def _iterate(fetch: Callable[[str], Page[T]]) -> Iterator[T]:
    token = ""
    while True:
        page = fetch(token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return


class Client:
    """One channel to a server and the StateMachines, Executions, Tasks and DeadLetters services."""

    def __init__(self, address: str, options: Optional[ClientOptions] = None) -> None:
        """Opens a channel to ``address`` ("127.0.0.1:7233") without waiting for it (see ``connect``)."""
        self.address = address
        self.options = options or ClientOptions()
        self._channel = open_channel(address, self.options)
        self._metadata = self.options.metadata()
        self._state_machines = pb_grpc.StateMachinesStub(self._channel)
        self._executions = pb_grpc.ExecutionsStub(self._channel)
        self._tasks = pb_grpc.TasksStub(self._channel)
        self._dead_letters = pb_grpc.DeadLettersStub(self._channel)

    @classmethod
    def connect(cls, address: str, timeout: float = 10.0, options: Optional[ClientOptions] = None) -> "Client":
        """Opens a channel and waits until it is connected, at most ``timeout`` seconds. ServiceUnavailable
        when it does not connect; InvalidArgument when a TLS file cannot be read."""
        client = cls(address, options)
        try:
            grpc.channel_ready_future(client._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            client.close()
            raise make_error("ServiceUnavailable",
                             f"ServiceUnavailable: cannot connect to {address} within {int(timeout * 1000)} ms",
                             grpc.StatusCode.UNAVAILABLE) from None
        return client

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: Any, request: Any, timeout: Optional[float] = None,
              wait_for_ready: Optional[bool] = None) -> Any:
        try:
            return method(request, timeout=self.options.call_timeout if timeout is None else timeout,
                          metadata=self._metadata, wait_for_ready=wait_for_ready)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None

    # --- State machines. `state_machine` is a name or an ARN; a definition is JSON text or a dict.

    def create_state_machine(self, name: str, definition: Any,
                             type: StateMachineType = StateMachineType.STANDARD, publish: bool = False,
                             version_description: str = "") -> StateMachine:
        """InvalidDefinition (every problem in the message), InvalidName, StateMachineAlreadyExists. With
        ``publish`` the revision is also published as a version (its ARN in ``state_machine_version_arn``);
        a ``version_description`` without ``publish`` is a ValidationException."""
        return StateMachine.from_pb(self._call(self._state_machines.Create, rq.create_state_machine(
            name, definition, type, publish, version_description)))

    def update_state_machine(self, state_machine: str, definition: Any, publish: bool = False,
                             version_description: str = "") -> StateMachine:
        """A new version; running executions keep theirs. StateMachineDoesNotExist, InvalidDefinition.
        ``publish``: as create_state_machine, in the same commit as the revision."""
        return StateMachine.from_pb(self._call(self._state_machines.Update, rq.update_state_machine(
            state_machine, definition, publish, version_description)))

    def describe_state_machine(self, state_machine: str) -> StateMachine:
        return StateMachine.from_pb(self._call(self._state_machines.Describe,
                                               pb.DescribeStateMachineRequest(state_machine=state_machine)))

    def list_state_machines_page(self, page_size: int = 0, page_token: str = "") -> Page[StateMachine]:
        r = self._call(self._state_machines.List, pb.ListStateMachinesRequest(page_size=page_size,
                                                                              page_token=page_token))
        return Page([StateMachine.from_pb(m) for m in r.state_machines], r.next_page_token)

    def list_state_machines(self, page_size: int = 0) -> Iterator[StateMachine]:
        """Every state machine (without definitions), fetching pages of ``page_size`` (0 = server default)."""
        return _iterate(lambda token: self.list_state_machines_page(page_size, token))

    def delete_state_machine(self, state_machine: str) -> None:
        self._call(self._state_machines.Delete, pb.DeleteStateMachineRequest(state_machine=state_machine))

    def validate_definition(self, definition: Any,
                            type: StateMachineType = StateMachineType.STANDARD) -> Validation:
        r = self._call(self._state_machines.Validate,
                       pb.ValidateDefinitionRequest(definition=rq.json_text(definition), type=type.name))
        return Validation(valid=r.valid, diagnostics=diagnostics(r.diagnostics))

    def test_state(self, definition: Any, state_name: str = "", input: Any = None,
                    inspection_level: str = "INFO", variables: Any = None, mock_result: Any = None,
                    mock_error: Optional[str] = None, mock_cause: str = "",
                    retrier_retry_count: int = 0) -> TestStateResult:
        """AWS's TestState: runs one state of ``definition`` (a state, or a state machine with ``state_name``) on
        ``input`` without an execution. A Task, Map or Parallel state needs a mock: ``mock_result``, or
        ``mock_error`` (and ``mock_cause``); ``retrier_retry_count`` retries are taken first. At
        ``inspection_level`` DEBUG or TRACE the result has ``inspection_data``. InvalidDefinition,
        InvalidExecutionInput, ValidationException."""
        return TestStateResult.from_pb(self._call(self._state_machines.TestState, rq.test_state(
            definition, state_name, input, inspection_level, variables, mock_result, mock_error, mock_cause,
            retrier_retry_count)))

    # --- Executions.

    def start_execution(self, state_machine: str, input: Any = None, name: str = "") -> Execution:
        """Same name and input returns the existing execution; a different input ExecutionAlreadyExists."""
        return Execution.from_pb(self._call(self._executions.Start, pb.StartExecutionRequest(
            state_machine=state_machine, name=name, input=rq.json_text(input))))

    def start_sync_execution(self, state_machine: str, input: Any = None, name: str = "",
                             timeout: float = 60.0) -> Execution:
        """Starts and waits until the execution ends, at most ``timeout`` s (then Timeout; it keeps running)."""
        return Execution.from_pb(self._call(self._executions.StartSync, pb.StartExecutionRequest(
            state_machine=state_machine, name=name, input=rq.json_text(input)), timeout=timeout))

    def describe_execution(self, execution_arn: str) -> Execution:
        return Execution.from_pb(self._call(self._executions.Describe,
                                            pb.DescribeExecutionRequest(execution_arn=execution_arn)))

    def publish_state_machine_version(self, state_machine: str, description: str = "",
                                      revision: int = 0) -> StateMachineVersion:
        """Publishes the latest revision (idempotent). ConflictException when ``revision`` (0 = any) is not the
        latest; ServiceQuotaExceededException past 1000 versions."""
        return StateMachineVersion.from_pb(self._call(self._state_machines.PublishVersion,
                                                      rq.publish_version(state_machine, description, revision)))

    def list_state_machine_versions_page(self, state_machine: str, page_size: int = 0,
                                         page_token: str = "") -> Page[StateMachineVersion]:
        r = self._call(self._state_machines.ListVersions, rq.list_versions(state_machine, page_size, page_token))
        return Page([StateMachineVersion.from_pb(v) for v in r.versions], r.next_page_token)

    def list_state_machine_versions(self, state_machine: str, page_size: int = 0) -> Iterator[StateMachineVersion]:
        """Every version, newest first, without definitions."""
        return _iterate(lambda token: self.list_state_machine_versions_page(state_machine, page_size, token))

    def describe_state_machine_version(self, version_arn: str) -> StateMachineVersion:
        return StateMachineVersion.from_pb(self._call(self._state_machines.DescribeVersion,
                                                      pb.DescribeStateMachineVersionRequest(version_arn=version_arn)))

    def delete_state_machine_version(self, version_arn: str) -> None:
        """Idempotent; ConflictException while an alias routes to the version."""
        self._call(self._state_machines.DeleteVersion, pb.DeleteStateMachineVersionRequest(version_arn=version_arn))

    def create_state_machine_alias(self, name: str, routing: List[Route], description: str = "") -> StateMachineAlias:
        return StateMachineAlias.from_pb(self._call(self._state_machines.CreateAlias,
                                                    rq.create_alias(name, routing, description)))

    def update_state_machine_alias(self, alias_arn: str, routing: Optional[List[Route]] = None,
                                   description: Optional[str] = None) -> StateMachineAlias:
        return StateMachineAlias.from_pb(self._call(self._state_machines.UpdateAlias,
                                                    rq.update_alias(alias_arn, routing, description)))

    def describe_state_machine_alias(self, alias_arn: str) -> StateMachineAlias:
        return StateMachineAlias.from_pb(self._call(self._state_machines.DescribeAlias,
                                                    pb.DescribeStateMachineAliasRequest(alias_arn=alias_arn)))

    def list_state_machine_aliases_page(self, state_machine: str, page_size: int = 0,
                                        page_token: str = "") -> Page[StateMachineAlias]:
        r = self._call(self._state_machines.ListAliases, rq.list_aliases(state_machine, page_size, page_token))
        return Page([StateMachineAlias.from_pb(a) for a in r.aliases], r.next_page_token)

    def list_state_machine_aliases(self, state_machine: str, page_size: int = 0) -> Iterator[StateMachineAlias]:
        """Every alias, by name."""
        return _iterate(lambda token: self.list_state_machine_aliases_page(state_machine, page_size, token))

    def delete_state_machine_alias(self, alias_arn: str) -> None:
        self._call(self._state_machines.DeleteAlias, pb.DeleteStateMachineAliasRequest(alias_arn=alias_arn))

    def describe_execution_by_name(self, state_machine: str, name: str) -> Execution:
        """The standard execution ``name`` of ``state_machine`` (a name or an ARN), without its ARN.
        ExecutionDoesNotExist when there is none."""
        return Execution.from_pb(self._call(self._executions.Describe,
                                            pb.DescribeExecutionRequest(state_machine=state_machine, name=name)))

    def get_execution_history_page(self, execution_arn: str, page_size: int = 0, page_token: str = "",
                                   reverse_order: bool = False) -> Page[HistoryEvent]:
        r = self._call(self._executions.GetHistory, pb.GetExecutionHistoryRequest(
            execution_arn=execution_arn, page_size=page_size, page_token=page_token, reverse_order=reverse_order))
        return Page([HistoryEvent.from_pb(e) for e in r.events], r.next_page_token)

    def get_execution_history(self, execution_arn: str, reverse_order: bool = False,
                              page_size: int = 0) -> Iterator[HistoryEvent]:
        """Every event, oldest first (newest first with ``reverse_order``)."""
        return _iterate(lambda token: self.get_execution_history_page(execution_arn, page_size, token,
                                                                      reverse_order))

    def watch_execution_history(self, execution_arn: str, after_event_id: int = 0,
                                timeout: Optional[float] = None) -> Iterator[HistoryEvent]:
        """Events with id > ``after_event_id``, then each new one until the execution ends (or ``timeout``
        seconds pass: Timeout). Closing the iterator (or leaving the loop and dropping it) cancels the stream."""
        stream = self._executions.WatchHistory(
            pb.WatchExecutionHistoryRequest(execution_arn=execution_arn, after_event_id=after_event_id),
            timeout=timeout, metadata=self._metadata)
        try:
            for event in stream:
                yield HistoryEvent.from_pb(event)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        finally:
            stream.cancel()

    def list_executions_page(self, state_machine: str = "", status: Optional[ExecutionStatus] = None,
                             started_after: Optional[datetime] = None, started_before: Optional[datetime] = None,
                             page_size: int = 0, page_token: str = "") -> Page[Execution]:
        r = self._call(self._executions.List, rq.list_executions(state_machine, status, started_after,
                                                                 started_before, page_size, page_token))
        return Page([Execution.from_pb(e) for e in r.executions], r.next_page_token)

    def list_executions(self, state_machine: str = "", status: Optional[ExecutionStatus] = None,
                        started_after: Optional[datetime] = None, started_before: Optional[datetime] = None,
                        page_size: int = 0) -> Iterator[Execution]:
        """Executions matching the filters, newest first, without input and output. ``state_machine`` may be a
        version or alias ARN: the executions started on it (no ``status`` then: ValidationException)."""
        return _iterate(lambda token: self.list_executions_page(state_machine, status, started_after,
                                                                started_before, page_size, token))

    def stop_execution(self, execution_arn: str, error: str = "", cause: str = "") -> Execution:
        """ExecutionDoesNotExist; ExecutionNotRunning."""
        return Execution.from_pb(self._call(self._executions.Stop, pb.StopExecutionRequest(
            execution_arn=execution_arn, error=error, cause=cause)))

    def describe_state_machine_for_execution(self, execution_arn: str) -> StateMachine:
        return StateMachine.from_pb(self._call(self._executions.DescribeStateMachineForExecution,
                                               pb.DescribeStateMachineForExecutionRequest(
                                                   execution_arn=execution_arn)))

    def redrive_execution(self, execution_arn: str) -> Execution:
        """Resumes a FAILED, TIMED_OUT or ABORTED execution from the state that failed.
        ExecutionNotRedrivable otherwise; ExecutionDoesNotExist."""
        return Execution.from_pb(self._call(self._executions.Redrive,
                                            pb.RedriveExecutionRequest(execution_arn=execution_arn)))

    # --- Tasks (stepflow.Worker builds on these). A task is named by its opaque token.

    def poll_task_future(self, queue: str, identity: str = "", wait_seconds: int = 20) -> Any:
        """Starts a long poll; returns the gRPC future (``.cancel()`` cancels it; ``.result()`` gives the
        PollTaskResponse or raises grpc.RpcError). Waits for a server that is away (wait-for-ready)."""
        return self._tasks.Poll.future(
            pb.PollTaskRequest(queue=queue, worker_identity=identity, wait_seconds=wait_seconds),
            timeout=wait_seconds + self.options.call_timeout, metadata=self._metadata, wait_for_ready=True)

    def poll_task(self, queue: str, identity: str = "", wait_seconds: int = 20) -> Optional[Task]:
        """Long-polls ``queue`` for up to ``wait_seconds`` (0 = 20 s; at most 60). None when no task came."""
        try:
            r = self.poll_task_future(queue, identity, wait_seconds).result()
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        return Task.from_pb(r, queue) if r.task_token else None

    def poll_tasks_future(self, queue: str, identity: str = "", max_tasks: int = 1, wait_seconds: int = 20) -> Any:
        """Starts a batched long poll (Tasks.PollBatch) for up to ``max_tasks`` tasks (0 = 1; at most 256):
        it waits, as poll_task, for the first, then takes those waiting at that moment. Returns the gRPC
        future (``.result()`` gives the PollTaskBatchResponse); waits for a server that is away."""
        return self._tasks.PollBatch.future(
            pb.PollTaskBatchRequest(queue=queue, worker_identity=identity, wait_seconds=wait_seconds,
                                    max_tasks=max_tasks),
            timeout=wait_seconds + self.options.call_timeout, metadata=self._metadata, wait_for_ready=True)

    def poll_tasks(self, queue: str, identity: str = "", max_tasks: int = 1, wait_seconds: int = 20) -> List[Task]:
        """Tasks.PollBatch: up to ``max_tasks`` tasks of ``queue``; [] when none came within ``wait_seconds``.
        ValidationException for max_tasks beyond 256."""
        try:
            r = self.poll_tasks_future(queue, identity, max_tasks, wait_seconds).result()
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        return [Task.from_pb(t, queue) for t in r.tasks]

    def report_tasks(self, reports: List[Any], wait_for_ready: bool = False) -> List[Optional[StepflowError]]:
        """Tasks.ReportBatch: many Complete/Fail/Heartbeat reports (``pb.TaskReport``) in one call, at most 1,000
        and 4 MiB (ValidationException for the whole call beyond). Answers each report in order: None when its
        unary call would have succeeded, else the error that call would have raised. A heartbeat's
        ``cancelled`` is in ``report_tasks_raw``."""
        return [report_error(r) for r in self.report_tasks_raw(reports, wait_for_ready)]

    def report_tasks_raw(self, reports: List[Any], wait_for_ready: bool = False) -> List[Any]:
        """As report_tasks, answering the ``pb.TaskReportResult`` of each report (code, error, message,
        cancelled). InternalFailure when the server answers another number of results than reports."""
        return self.report_tasks_and_poll_raw(reports, [], wait_for_ready)[0]

    def report_tasks_and_poll_raw(self, reports: List[Any], polls: List[Any],
                                  wait_for_ready: bool = False) -> Tuple[List[Any], List[Any]]:
        """As report_tasks_raw, with ``polls`` (``pb.PollTaskBatchRequest``, wait_seconds 0, one per queue): the
        call also answers tasks for the slots the reports free (the ``pb.PollTaskResponse`` of each, started
        for its poll's worker_identity), first those the reports' own commits schedule."""
        r = self._call(self._tasks.ReportBatch, pb.ReportTaskBatchRequest(reports=reports, polls=polls),
                       wait_for_ready=wait_for_ready)
        if len(r.results) != len(reports):
            raise make_error("InternalFailure", f"InternalFailure: ReportBatch answered {len(r.results)} results "
                             f"to {len(reports)} reports", grpc.StatusCode.INTERNAL)
        return list(r.results), list(r.tasks)

    def complete_task(self, task_token: str, output: Any = None, wait_for_ready: bool = False) -> None:
        """Repeating a completion is OK. InvalidToken, InvalidOutput, TaskDoesNotExist, TaskTimedOut.
        ``wait_for_ready``: wait (within call_timeout) for a server that is away instead of failing at once;
        the worker's reports use it, so that they go out as soon as a restarted server listens."""
        self._call(self._tasks.Complete, pb.CompleteTaskRequest(task_token=task_token, output=rq.json_text(output)),
                   wait_for_ready=wait_for_ready)

    def fail_task(self, task_token: str, error: str = "", cause: str = "", wait_for_ready: bool = False) -> None:
        """Reports an ASL error ("" = States.TaskFailed) that Retry/Catch match on. Errors as complete_task."""
        self._call(self._tasks.Fail, pb.FailTaskRequest(task_token=task_token, error=error, cause=cause),
                   wait_for_ready=wait_for_ready)

    def heartbeat_task(self, task_token: str) -> bool:
        """Resets the HeartbeatSeconds clock; True when the execution no longer wants the result."""
        return bool(self._call(self._tasks.Heartbeat, pb.HeartbeatTaskRequest(task_token=task_token)).cancelled)

    # --- Dead letters.

    def list_dead_letters_page(self, filter: Optional[DeadLetterFilter] = None, page_size: int = 0,
                               page_token: str = "") -> Page[DeadLetter]:
        r = self._call(self._dead_letters.List, rq.list_dead_letters(filter, page_size, page_token))
        return Page([DeadLetter.from_pb(d) for d in r.dead_letters], r.next_page_token)

    def list_dead_letters(self, filter: Optional[DeadLetterFilter] = None,
                          page_size: int = 0) -> Iterator[DeadLetter]:
        """Entries matching ``filter`` by execution ARN, then oldest first."""
        return _iterate(lambda token: self.list_dead_letters_page(filter, page_size, token))

    def get_dead_letter(self, id: str) -> DeadLetter:
        """DeadLetterDoesNotExist."""
        return DeadLetter.from_pb(self._call(self._dead_letters.Get, pb.GetDeadLetterRequest(id=id)))

    def redrive_dead_letters(self, id: str = "", filter: Optional[DeadLetterFilter] = None,
                             input: Any = None) -> List[DeadLetterOutcome]:
        """Re-runs one entry (``id``) or every entry matching ``filter`` and resumes their executions; one
        outcome per entry. ``input`` replaces the recorded task input."""
        return outcomes(self._call(self._dead_letters.Redrive, rq.redrive_dead_letters(id, filter, input)).outcomes)

    def discard_dead_letters(self, id: str = "", filter: Optional[DeadLetterFilter] = None) -> List[DeadLetterOutcome]:
        return outcomes(self._call(self._dead_letters.Discard, rq.discard_dead_letters(id, filter)).outcomes)


__all__ = ["Client", "StepflowError", "open_channel"]
