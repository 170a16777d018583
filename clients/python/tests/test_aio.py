"""The asyncio client against the real server: the same calls as coroutines and async iterators."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

from server import Server, free_port
from stepflow import errors
from stepflow.aio import AsyncClient
from stepflow.types import DeadLetterFilter, ExecutionStatus, HistoryEvent

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
