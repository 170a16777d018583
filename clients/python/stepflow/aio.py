"""The asyncio client (grpc.aio): the same methods as stepflow.Client, as coroutines; lists, history and
watch are async iterators.

    async with await stepflow.aio.AsyncClient.connect("127.0.0.1:7233") as client:
        execution = await client.start_execution("hello", {"who": "world"})
        async for event in client.get_execution_history(execution.arn):
            print(event.type)

Use an AsyncClient from the event loop it was created on.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, List, Optional, TypeVar

import grpc
import grpc.aio

from stepflow import _requests as rq
from stepflow.errors import StepflowError, error_from_rpc, make_error, report_error
from stepflow.options import ClientOptions
from stepflow.types import (DeadLetter, DeadLetterFilter, DeadLetterOutcome, Execution, ExecutionStatus,
                            HistoryEvent, Page, Route, StateMachine, StateMachineAlias, StateMachineType,
                            StateMachineVersion, Task, TestStateResult, Validation, diagnostics, outcomes)
from stepflow.v1 import stepflow_pb2 as pb
from stepflow.v1 import stepflow_pb2_grpc as _pb_grpc

T = TypeVar("T")
# The generated service stubs are untyped (grpc_python_plugin writes no .pyi).
pb_grpc: Any = _pb_grpc


async def _iterate(fetch: Callable[[str], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    token = ""
    while True:
        page = await fetch(token)
        for item in page.items:
            yield item
        token = page.next_page_token
        if not token:
            return


class AsyncClient:
    def __init__(self, address: str, options: Optional[ClientOptions] = None) -> None:
        self.address = address
        self.options = options or ClientOptions()
        creds = self.options.channel_credentials()
        if creds is None:
            self._channel = grpc.aio.insecure_channel(address, options=self.options.channel_options())
        else:
            self._channel = grpc.aio.secure_channel(address, creds, options=self.options.channel_options())
        self._metadata = self.options.metadata()
        self._state_machines = pb_grpc.StateMachinesStub(self._channel)
        self._executions = pb_grpc.ExecutionsStub(self._channel)
        self._tasks = pb_grpc.TasksStub(self._channel)
        self._dead_letters = pb_grpc.DeadLettersStub(self._channel)

    @classmethod
    async def connect(cls, address: str, timeout: float = 10.0,
                      options: Optional[ClientOptions] = None) -> "AsyncClient":
        """Opens a channel and waits until it is connected, at most ``timeout`` s (else ServiceUnavailable)."""
        client = cls(address, options)
        try:
            await asyncio.wait_for(client._channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            await client.close()
            raise make_error("ServiceUnavailable",
                             f"ServiceUnavailable: cannot connect to {address} within {int(timeout * 1000)} ms",
                             grpc.StatusCode.UNAVAILABLE) from None
        return client

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, method: Any, request: Any, timeout: Optional[float] = None,
                    wait_for_ready: Optional[bool] = None) -> Any:
        try:
            return await method(request, timeout=self.options.call_timeout if timeout is None else timeout,
                                metadata=self._metadata, wait_for_ready=wait_for_ready)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None

    # --- State machines.

    async def create_state_machine(self, name: str, definition: Any,
                                   type: StateMachineType = StateMachineType.STANDARD, publish: bool = False,
                                   version_description: str = "") -> StateMachine:
        return StateMachine.from_pb(await self._call(self._state_machines.Create, rq.create_state_machine(
            name, definition, type, publish, version_description)))

    async def update_state_machine(self, state_machine: str, definition: Any, publish: bool = False,
                                   version_description: str = "") -> StateMachine:
        return StateMachine.from_pb(await self._call(self._state_machines.Update, rq.update_state_machine(
            state_machine, definition, publish, version_description)))

    async def describe_state_machine(self, state_machine: str) -> StateMachine:
        return StateMachine.from_pb(await self._call(self._state_machines.Describe,
                                                     pb.DescribeStateMachineRequest(state_machine=state_machine)))

    async def list_state_machines_page(self, page_size: int = 0, page_token: str = "") -> Page[StateMachine]:
        r = await self._call(self._state_machines.List,
                             pb.ListStateMachinesRequest(page_size=page_size, page_token=page_token))
        return Page([StateMachine.from_pb(m) for m in r.state_machines], r.next_page_token)

    def list_state_machines(self, page_size: int = 0) -> AsyncIterator[StateMachine]:
        return _iterate(lambda token: self.list_state_machines_page(page_size, token))

    async def delete_state_machine(self, state_machine: str) -> None:
        await self._call(self._state_machines.Delete, pb.DeleteStateMachineRequest(state_machine=state_machine))

    async def validate_definition(self, definition: Any,
                                  type: StateMachineType = StateMachineType.STANDARD) -> Validation:
        r = await self._call(self._state_machines.Validate,
                             pb.ValidateDefinitionRequest(definition=rq.json_text(definition), type=type.name))
        return Validation(valid=r.valid, diagnostics=diagnostics(r.diagnostics))

    async def test_state(self, definition: Any, state_name: str = "", input: Any = None,
                    inspection_level: str = "INFO", variables: Any = None, mock_result: Any = None,
                    mock_error: Optional[str] = None, mock_cause: str = "",
                    retrier_retry_count: int = 0) -> TestStateResult:
        """As stepflow.Client.test_state."""
        return TestStateResult.from_pb(await self._call(self._state_machines.TestState, rq.test_state(
            definition, state_name, input, inspection_level, variables, mock_result, mock_error, mock_cause,
            retrier_retry_count)))

    # --- Versions and aliases (errors and contracts as stepflow.Client's).

    async def publish_state_machine_version(self, state_machine: str, description: str = "",
                                            revision: int = 0) -> StateMachineVersion:
        return StateMachineVersion.from_pb(await self._call(self._state_machines.PublishVersion,
                                                            rq.publish_version(state_machine, description, revision)))

    async def list_state_machine_versions_page(self, state_machine: str, page_size: int = 0,
                                               page_token: str = "") -> Page[StateMachineVersion]:
        r = await self._call(self._state_machines.ListVersions, rq.list_versions(state_machine, page_size, page_token))
        return Page([StateMachineVersion.from_pb(v) for v in r.versions], r.next_page_token)

    def list_state_machine_versions(self, state_machine: str,
                                    page_size: int = 0) -> AsyncIterator[StateMachineVersion]:
        return _iterate(lambda token: self.list_state_machine_versions_page(state_machine, page_size, token))

    async def describe_state_machine_version(self, version_arn: str) -> StateMachineVersion:
        return StateMachineVersion.from_pb(await self._call(
            self._state_machines.DescribeVersion, pb.DescribeStateMachineVersionRequest(version_arn=version_arn)))

    async def delete_state_machine_version(self, version_arn: str) -> None:
        await self._call(self._state_machines.DeleteVersion,
                         pb.DeleteStateMachineVersionRequest(version_arn=version_arn))

    async def create_state_machine_alias(self, name: str, routing: List[Route],
                                         description: str = "") -> StateMachineAlias:
        return StateMachineAlias.from_pb(await self._call(self._state_machines.CreateAlias,
                                                          rq.create_alias(name, routing, description)))

    async def update_state_machine_alias(self, alias_arn: str, routing: Optional[List[Route]] = None,
                                         description: Optional[str] = None) -> StateMachineAlias:
        return StateMachineAlias.from_pb(await self._call(self._state_machines.UpdateAlias,
                                                          rq.update_alias(alias_arn, routing, description)))

    async def describe_state_machine_alias(self, alias_arn: str) -> StateMachineAlias:
        return StateMachineAlias.from_pb(await self._call(self._state_machines.DescribeAlias,
                                                          pb.DescribeStateMachineAliasRequest(alias_arn=alias_arn)))

    async def list_state_machine_aliases_page(self, state_machine: str, page_size: int = 0,
                                              page_token: str = "") -> Page[StateMachineAlias]:
        r = await self._call(self._state_machines.ListAliases, rq.list_aliases(state_machine, page_size, page_token))
        return Page([StateMachineAlias.from_pb(a) for a in r.aliases], r.next_page_token)

    def list_state_machine_aliases(self, state_machine: str, page_size: int = 0) -> AsyncIterator[StateMachineAlias]:
        return _iterate(lambda token: self.list_state_machine_aliases_page(state_machine, page_size, token))

    async def delete_state_machine_alias(self, alias_arn: str) -> None:
        await self._call(self._state_machines.DeleteAlias, pb.DeleteStateMachineAliasRequest(alias_arn=alias_arn))

    # --- Executions.

    async def start_execution(self, state_machine: str, input: Any = None, name: str = "") -> Execution:
        return Execution.from_pb(await self._call(self._executions.Start, pb.StartExecutionRequest(
            state_machine=state_machine, name=name, input=rq.json_text(input))))

    async def start_sync_execution(self, state_machine: str, input: Any = None, name: str = "",
                                   timeout: float = 60.0) -> Execution:
        return Execution.from_pb(await self._call(self._executions.StartSync, pb.StartExecutionRequest(
            state_machine=state_machine, name=name, input=rq.json_text(input)), timeout=timeout))

    async def describe_execution(self, execution_arn: str) -> Execution:
        return Execution.from_pb(await self._call(self._executions.Describe,
                                                  pb.DescribeExecutionRequest(execution_arn=execution_arn)))

    async def describe_execution_by_name(self, state_machine: str, name: str) -> Execution:
        """The standard execution ``name`` of ``state_machine`` (a name or an ARN), without its ARN."""
        return Execution.from_pb(await self._call(self._executions.Describe,
                                                  pb.DescribeExecutionRequest(state_machine=state_machine,
                                                                              name=name)))

    async def get_execution_history_page(self, execution_arn: str, page_size: int = 0, page_token: str = "",
                                         reverse_order: bool = False) -> Page[HistoryEvent]:
        r = await self._call(self._executions.GetHistory, pb.GetExecutionHistoryRequest(
            execution_arn=execution_arn, page_size=page_size, page_token=page_token, reverse_order=reverse_order))
        return Page([HistoryEvent.from_pb(e) for e in r.events], r.next_page_token)

    def get_execution_history(self, execution_arn: str, reverse_order: bool = False,
                              page_size: int = 0) -> AsyncIterator[HistoryEvent]:
        return _iterate(lambda token: self.get_execution_history_page(execution_arn, page_size, token,
                                                                      reverse_order))

    async def watch_execution_history(self, execution_arn: str, after_event_id: int = 0,
                                      timeout: Optional[float] = None) -> AsyncIterator[HistoryEvent]:
        call = self._executions.WatchHistory(
            pb.WatchExecutionHistoryRequest(execution_arn=execution_arn, after_event_id=after_event_id),
            timeout=timeout, metadata=self._metadata)
        try:
            async for event in call:
                yield HistoryEvent.from_pb(event)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        finally:
            call.cancel()

    async def list_executions_page(self, state_machine: str = "", status: Optional[ExecutionStatus] = None,
                                   started_after: Optional[datetime] = None,
                                   started_before: Optional[datetime] = None, page_size: int = 0,
                                   page_token: str = "") -> Page[Execution]:
        r = await self._call(self._executions.List, rq.list_executions(state_machine, status, started_after,
                                                                       started_before, page_size, page_token))
        return Page([Execution.from_pb(e) for e in r.executions], r.next_page_token)

    def list_executions(self, state_machine: str = "", status: Optional[ExecutionStatus] = None,
                        started_after: Optional[datetime] = None, started_before: Optional[datetime] = None,
                        page_size: int = 0) -> AsyncIterator[Execution]:
        return _iterate(lambda token: self.list_executions_page(state_machine, status, started_after,
                                                                started_before, page_size, token))

    async def stop_execution(self, execution_arn: str, error: str = "", cause: str = "") -> Execution:
        return Execution.from_pb(await self._call(self._executions.Stop, pb.StopExecutionRequest(
            execution_arn=execution_arn, error=error, cause=cause)))

    async def describe_state_machine_for_execution(self, execution_arn: str) -> StateMachine:
        return StateMachine.from_pb(await self._call(self._executions.DescribeStateMachineForExecution,
                                                     pb.DescribeStateMachineForExecutionRequest(
                                                         execution_arn=execution_arn)))

    async def redrive_execution(self, execution_arn: str) -> Execution:
        return Execution.from_pb(await self._call(self._executions.Redrive,
                                                  pb.RedriveExecutionRequest(execution_arn=execution_arn)))

    # --- Tasks.

    async def poll_task(self, queue: str, identity: str = "", wait_seconds: int = 20) -> Optional[Task]:
        r = await self._call(self._tasks.Poll,
                             pb.PollTaskRequest(queue=queue, worker_identity=identity, wait_seconds=wait_seconds),
                             timeout=wait_seconds + self.options.call_timeout, wait_for_ready=True)
        return Task.from_pb(r, queue) if r.task_token else None

    async def poll_tasks(self, queue: str, identity: str = "", max_tasks: int = 1,
                         wait_seconds: int = 20) -> List[Task]:
        """Tasks.PollBatch, as Client.poll_tasks."""
        r = await self._call(self._tasks.PollBatch,
                             pb.PollTaskBatchRequest(queue=queue, worker_identity=identity,
                                                     wait_seconds=wait_seconds, max_tasks=max_tasks),
                             timeout=wait_seconds + self.options.call_timeout, wait_for_ready=True)
        return [Task.from_pb(t, queue) for t in r.tasks]

    async def report_tasks(self, reports: List[Any]) -> List[Optional[StepflowError]]:
        """Tasks.ReportBatch, as Client.report_tasks: each report's error (None = OK), in order."""
        r = await self._call(self._tasks.ReportBatch, pb.ReportTaskBatchRequest(reports=reports))
        if len(r.results) != len(reports):
            raise make_error("InternalFailure", f"InternalFailure: ReportBatch answered {len(r.results)} results "
                             f"to {len(reports)} reports", grpc.StatusCode.INTERNAL)
        return [report_error(result) for result in r.results]

    async def complete_task(self, task_token: str, output: Any = None) -> None:
        await self._call(self._tasks.Complete,
                         pb.CompleteTaskRequest(task_token=task_token, output=rq.json_text(output)))

    async def fail_task(self, task_token: str, error: str = "", cause: str = "") -> None:
        await self._call(self._tasks.Fail, pb.FailTaskRequest(task_token=task_token, error=error, cause=cause))

    async def heartbeat_task(self, task_token: str) -> bool:
        r = await self._call(self._tasks.Heartbeat, pb.HeartbeatTaskRequest(task_token=task_token))
        return bool(r.cancelled)

    # --- Dead letters.

    async def list_dead_letters_page(self, filter: Optional[DeadLetterFilter] = None, page_size: int = 0,
                                     page_token: str = "") -> Page[DeadLetter]:
        r = await self._call(self._dead_letters.List, rq.list_dead_letters(filter, page_size, page_token))
        return Page([DeadLetter.from_pb(d) for d in r.dead_letters], r.next_page_token)

    def list_dead_letters(self, filter: Optional[DeadLetterFilter] = None,
                          page_size: int = 0) -> AsyncIterator[DeadLetter]:
        return _iterate(lambda token: self.list_dead_letters_page(filter, page_size, token))

    async def get_dead_letter(self, id: str) -> DeadLetter:
        return DeadLetter.from_pb(await self._call(self._dead_letters.Get, pb.GetDeadLetterRequest(id=id)))

    async def redrive_dead_letters(self, id: str = "", filter: Optional[DeadLetterFilter] = None,
                                   input: Any = None) -> List[DeadLetterOutcome]:
        r = await self._call(self._dead_letters.Redrive, rq.redrive_dead_letters(id, filter, input))
        return outcomes(r.outcomes)

    async def discard_dead_letters(self, id: str = "",
                                   filter: Optional[DeadLetterFilter] = None) -> List[DeadLetterOutcome]:
        r = await self._call(self._dead_letters.Discard, rq.discard_dead_letters(id, filter))
        return outcomes(r.outcomes)


__all__ = ["AsyncClient"]
