"""The asyncio client against the real server: the same calls as coroutines and async iterators."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from server import Server, free_port
from stepflow import errors
from stepflow.aio import AsyncClient
from stepflow.types import DeadLetterFilter, ExecutionStatus, HistoryEvent, Route
from stepflow.v1 import stepflow_pb2 as pb

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "ok", "End": True}}}
TASK = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "activity:aio-work", "End": True}}}


async def scenario(address: str) -> None:
    async with await AsyncClient.connect(address, timeout=10) as client:
        await client.create_state_machine("pass", PASS)
        assert (await client.describe_state_machine("pass")).version == 1
        assert (await client.validate_definition(PASS)).valid
        done = [await client.start_sync_execution("pass", {"i": i}, timeout=30) for i in range(3)]
        assert all(e.status == ExecutionStatus.SUCCEEDED and e.output_value == "ok" for e in done)
        arns = [e.arn async for e in client.list_executions(state_machine="pass", page_size=2)]
        assert sorted(arns) == sorted(e.arn for e in done)
        history: List[HistoryEvent] = [e async for e in client.get_execution_history(done[0].arn, page_size=1)]
        assert history[0].type == "ExecutionStarted" and history[-1].type == "ExecutionSucceeded"
        assert [m.name async for m in client.list_state_machines(page_size=1)] == ["pass"]

        # A running execution: watch it while a task is completed through the asyncio client.
        await client.create_state_machine("task", TASK)
        running = await client.start_execution("task", {"n": 1}, name="watched")
        watched: List[str] = []

        async def watch() -> None:
            async for event in client.watch_execution_history(running.arn):
                watched.append(event.type)

        watcher = asyncio.create_task(watch())
        task = await client.poll_task("aio-work", "aio", wait_seconds=10)
        assert task is not None and task.input_value == {"n": 1}
        assert await client.heartbeat_task(task.token) is False
        await client.complete_task(task.token, {"n": 2})
        await asyncio.wait_for(watcher, 30)
        assert watched[0] == "ExecutionStarted" and watched[-1] == "ExecutionSucceeded"
        assert (await client.describe_execution(running.arn)).output_value == {"n": 2}
        assert (await client.describe_execution_by_name("task", "watched")).arn == running.arn
        assert (await client.describe_state_machine_for_execution(running.arn)).name == "task"

        # The batched calls: two tasks in one poll, both completed in one call (and again: OK, nothing changes).
        batch = [await client.start_execution("task", {"n": n}) for n in (10, 11)]
        tasks = await client.poll_tasks("aio-work", "aio", max_tasks=2, wait_seconds=10)
        assert sorted(t.input_value["n"] for t in tasks) == [10, 11]
        done_reports = [pb.TaskReport(complete=pb.CompleteTaskRequest(task_token=t.token, output=t.input))
                        for t in tasks]
        assert await client.report_tasks(done_reports + done_reports) == [None] * 4
        assert [type(e).__name__ if e else None for e in await client.report_tasks(
            [pb.TaskReport(fail=pb.FailTaskRequest(task_token="not-a-token"))])] == ["InvalidToken"]
        for e in batch:
            for _ in [x async for x in client.watch_execution_history(e.arn)]:
                pass
            assert (await client.describe_execution(e.arn)).output_value == e.input_value

        # Failure, dead letter, redrive of the execution, stop.
        failing = await client.start_execution("task", {"n": 3})
        task = await client.poll_task("aio-work", "aio", wait_seconds=10)
        assert task is not None
        await client.fail_task(task.token, "Bad", "no")
        letters = [d async for d in client.list_dead_letters(DeadLetterFilter(queue="aio-work"))]
        assert [d.execution_arn for d in letters] == [failing.arn]
        assert (await client.get_dead_letter(letters[0].id)).error == "Bad"
        assert [o.error for o in await client.discard_dead_letters(id=letters[0].id)] == [""]
        assert (await client.redrive_execution(failing.arn)).redrive_count == 1
        stopped = await client.stop_execution(failing.arn, "Stop", "test")
        assert stopped.status == ExecutionStatus.ABORTED
        assert (await client.list_dead_letters_page()).items == []
        assert len((await client.redrive_dead_letters(filter=DeadLetterFilter(queue="none")))) == 0

        with pytest.raises(errors.ExecutionNotRunning):
            await client.stop_execution(failing.arn)
        with pytest.raises(errors.StateMachineDoesNotExist):
            await client.start_execution("nope")
        with pytest.raises(errors.InvalidDefinition):
            await client.update_state_machine("pass", {"StartAt": "X", "States": {}})
        with pytest.raises(errors.DeadLetterDoesNotExist):
            await client.get_dead_letter("no-such-id")
        await client.delete_state_machine("pass")
        with pytest.raises(errors.StateMachineDoesNotExist):
            await client.describe_state_machine("pass")
    with pytest.raises(errors.ServiceUnavailable):
        await AsyncClient.connect(f"127.0.0.1:{free_port()}", timeout=0.3)


def test_async_client_covers_the_api(server: Server) -> None:
    asyncio.run(scenario(server.address))


def pass_result(n: int) -> Dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": n, "End": True}}}


async def versions_scenario(address: str) -> None:
    async with await AsyncClient.connect(address, timeout=10) as client:
        created = await client.create_state_machine("vers", pass_result(1), publish=True, version_description="one")
        v1 = created.state_machine_version_arn
        assert v1.endswith(":vers:1")
        with pytest.raises(errors.ValidationException):
            await client.create_state_machine("other", PASS, version_description="needs publish")
        await client.update_state_machine("vers", pass_result(2))
        with pytest.raises(errors.ConflictException):
            await client.publish_state_machine_version("vers", revision=1)
        v2 = (await client.publish_state_machine_version("vers", "two", revision=2)).arn
        assert [v.arn async for v in client.list_state_machine_versions("vers", page_size=1)] == [v2, v1]
        described = await client.describe_state_machine_version(v1)
        assert described.revision == 1 and described.description == "one"
        with pytest.raises(errors.ResourceNotFound):
            await client.describe_state_machine_version(v1[:-1] + "9")
        with pytest.raises(errors.InvalidArn):
            await client.describe_state_machine_version("arn:nope")

        alias = await client.create_state_machine_alias("live", [Route(v1, 50), Route(v2, 50)], "canary")
        with pytest.raises(errors.ValidationException):
            await client.create_state_machine_alias("bad", [Route(v1, 60)])
        with pytest.raises(errors.ConflictException):
            await client.delete_state_machine_version(v1)
        moved = await client.update_state_machine_alias(alias.arn, [Route(v2, 100)])
        assert moved.routing == [Route(v2, 100)] and moved.description == "canary"
        assert (await client.describe_state_machine_alias(alias.arn)).routing == [Route(v2, 100)]
        assert [a.arn async for a in client.list_state_machine_aliases("vers")] == [alias.arn]

        # Executions listed by the version or alias they started on, page by page.
        on_v1 = [(await client.start_execution(v1, name=f"v1-{i}")).arn for i in range(3)]
        via_alias = [(await client.start_execution(alias.arn, name=f"a-{i}")).arn for i in range(3)]
        assert sorted([e.arn async for e in client.list_executions(v1, page_size=2)]) == sorted(on_v1)
        assert sorted([e.arn async for e in client.list_executions(alias.arn, page_size=2)]) == sorted(via_alias)
        assert len([e async for e in client.list_executions(v2)]) == 3
        with pytest.raises(errors.ValidationException):
            await client.list_executions_page(v1, status=ExecutionStatus.SUCCEEDED)

        # Concurrent update+publish calls: each publishes its own revision.
        results = await asyncio.gather(*[client.update_state_machine("vers", pass_result(100 + i), publish=True)
                                         for i in range(12)])
        for r in results:
            assert (await client.describe_state_machine_version(r.state_machine_version_arn)).revision == r.version
        assert len({r.state_machine_version_arn for r in results}) == 12

        await client.delete_state_machine_alias(alias.arn)
        with pytest.raises(errors.ResourceNotFound):
            await client.delete_state_machine_alias(alias.arn)
        await client.delete_state_machine_version(v1)
        await client.delete_state_machine_version(v1)  # idempotent, as AWS

        # TestState, as the synchronous client's.
        tested = await client.test_state({"Type": "Task", "Resource": "x", "End": True,
                                          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}]},
                                         mock_error="Boom", inspection_level="DEBUG")
        assert tested.status == "CAUGHT_ERROR" and tested.next_state == "R"
        assert tested.inspection_data is not None and tested.inspection_data.error_details is not None
        assert tested.inspection_data.error_details.catch_index == 0


def test_async_client_versions_aliases_and_listing(server: Server) -> None:
    asyncio.run(versions_scenario(server.address))
