"""stepflow.Worker in this process against the real server: slots, results, errors, heartbeats and
cancellation (the contract of clients/cpp/worker.h)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

import stepflow
from server import wait_until
from stepflow import CancelReason, TaskContext, TaskError, Worker, WorkerOptions
from stepflow.types import Execution, ExecutionStatus


def task_machine(queue: str, **state: Any) -> Dict[str, Any]:
    work = {"Type": "Task", "Resource": f"activity:{queue}", "End": True, **state}
    return {"StartAt": "Work", "States": {"Work": work}}


def wait_for_end(client: stepflow.Client, arn: str) -> Execution:
    for _ in client.watch_execution_history(arn, timeout=60):
        pass  # the stream ends when the execution does
    e = client.describe_execution(arn)
    assert e.status != ExecutionStatus.RUNNING
    return e


@pytest.fixture
def workers(client: stepflow.Client) -> Iterator[List[Worker]]:
    started: List[Worker] = []
    yield started
    for w in started:
        w.stop()


def start_worker(workers: List[Worker], client: stepflow.Client, handlers: Dict[str, stepflow.Handler],
                 **options: Any) -> Worker:
    options.setdefault("poll_wait", 2)
    w = Worker(client, WorkerOptions(**options))
    for queue, handler in handlers.items():
        w.handle(queue, handler)
    w.start()
    workers.append(w)
    return w


def test_worker_runs_n_tasks_at_once_and_completes_them(client: stepflow.Client, workers: List[Worker]) -> None:
    client.create_state_machine("slots", task_machine("slots"))
    all_three = threading.Barrier(3, timeout=30)
    lock = threading.Lock()
    running = [0, 0]  # now, most at once

    def handler(ctx: TaskContext, input: Any) -> Any:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        try:
            if input["i"] < 3:
                all_three.wait()  # the first three run at the same time, or this times out
            return {"doubled": input["i"] * 2, "attempt": ctx.attempt, "state": ctx.state_name}
        finally:
            with lock:
                running[0] -= 1

    worker = start_worker(workers, client, {"slots": handler}, concurrency=3)
    arns = [client.start_execution("slots", {"i": i}).arn for i in range(7)]
    for i, arn in enumerate(arns):
        e = wait_for_end(client, arn)
        assert e.status == ExecutionStatus.SUCCEEDED, e
        assert e.output_value == {"doubled": i * 2, "attempt": 0, "state": "Work"}
    assert running[1] == 3
    # The execution ends when the server commits the last completion, a moment before the worker learns it.
    assert wait_until(lambda: worker.stats().completed == 7)
    stats = worker.stats()
    assert stats.started == 7 and stats.completed == 7 and stats.failed == 0 and stats.running == 0
    assert worker.stop() is True


def test_task_error_and_exceptions_become_task_failures(client: stepflow.Client, workers: List[Worker]) -> None:
    client.create_state_machine("errors", task_machine("errors"))

    def handler(ctx: TaskContext, input: Any) -> Any:
        if input == "task-error":
            raise TaskError("Payment.Declined", "card expired")
        if input == "exception":
            raise KeyError("no such thing")
        if input == "empty-exception":
            raise RuntimeError()
        if input == "exit":
            raise SystemExit("handler called exit")
        if input == "not-json":
            return {"x": float("nan")}
        return None

    start_worker(workers, client, {"errors": handler})
    expected = {
        "task-error": ("Payment.Declined", "card expired"),
        "exception": ("Worker.Exception", "'no such thing'"),
        "empty-exception": ("Worker.Exception", "RuntimeError"),
        "exit": ("Worker.Exception", "handler called exit"),
    }
    for input, (error, cause) in expected.items():
        e = wait_for_end(client, client.start_execution("errors", f'"{input}"').arn)
        assert (e.status, e.error, e.cause) == (ExecutionStatus.FAILED, error, cause)
    e = wait_for_end(client, client.start_execution("errors", '"not-json"').arn)
    assert e.error == "Worker.Exception" and "not JSON-serialisable" in e.cause
    e = wait_for_end(client, client.start_execution("errors", '"none"').arn)
    assert e.status == ExecutionStatus.SUCCEEDED and e.output_value == {}


def test_retry_matches_the_handlers_error_name(client: stepflow.Client, workers: List[Worker]) -> None:
    retry = [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}]
    client.create_state_machine("retry", task_machine("retry", Retry=retry))

    def handler(ctx: TaskContext, input: Any) -> Any:
        if ctx.attempt == 0:
            raise TaskError("Flaky", "try again")
        return {"attempt": ctx.attempt}

    start_worker(workers, client, {"retry": handler})
    e = wait_for_end(client, client.start_execution("retry", {}).arn)
    assert e.status == ExecutionStatus.SUCCEEDED and e.output_value == {"attempt": 1}


def test_async_handlers_run_on_the_event_loop(client: stepflow.Client, workers: List[Worker]) -> None:
    client.create_state_machine("async", task_machine("async"))
    both = asyncio.Event()
    seen: List[int] = []

    async def handler(ctx: TaskContext, input: Any) -> Any:
        seen.append(input["i"])
        if len(seen) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 30)  # two handlers are awaiting on the one loop at once
        if input["i"] == 1:
            raise TaskError("Async.Error", "from a coroutine")
        return {"i": input["i"], "loop": True}

    start_worker(workers, client, {"async": handler}, concurrency=2)
    a = client.start_execution("async", {"i": 0}).arn
    b = client.start_execution("async", {"i": 1}).arn
    assert wait_for_end(client, a).output_value == {"i": 0, "loop": True}
    failed = wait_for_end(client, b)
    assert (failed.error, failed.cause) == ("Async.Error", "from a coroutine")


def test_heartbeats_keep_a_long_task_alive(client: stepflow.Client, workers: List[Worker]) -> None:
    client.create_state_machine("long", task_machine("long", HeartbeatSeconds=1))

    def handler(ctx: TaskContext, input: Any) -> Any:
        # Runs 2.5 heartbeat periods; cancelled (the test fails) if the heartbeats did not arrive.
        cancelled = ctx.wait_for_cancellation(2.5)
        return {"cancelled": cancelled, "reason": ctx.cancel_reason.value}

    worker = start_worker(workers, client, {"long": handler})
    e = wait_for_end(client, client.start_execution("long", {}).arn)
    assert e.status == ExecutionStatus.SUCCEEDED, e
    assert e.output_value == {"cancelled": False, "reason": "none"}
    assert worker.stats().heartbeats >= 3  # every third of a second for 2.5 s (fewer on a loaded machine)


def test_a_missed_heartbeat_times_the_task_out(client: stepflow.Client) -> None:
    client.create_state_machine("silent", task_machine("silent", HeartbeatSeconds=1))
    arn = client.start_execution("silent", {}).arn
    task = client.poll_task("silent", "silent-worker", wait_seconds=10)  # and never heartbeat
    assert task is not None and task.heartbeat_seconds == 1
    e = wait_for_end(client, arn)
    assert (e.status, e.error) == (ExecutionStatus.FAILED, "States.HeartbeatTimeout")
    with pytest.raises(stepflow.errors.TaskTimedOut):
        client.complete_task(task.token, {})


def test_cancellation_reaches_the_handler_after_stop(client: stepflow.Client, workers: List[Worker]) -> None:
    client.create_state_machine("cancel", task_machine("cancel"))
    started = threading.Event()
    outcome: Dict[str, Any] = {}
    done = threading.Event()

    def handler(ctx: TaskContext, input: Any) -> Any:
        def on_cancel() -> None:
            outcome["callback"] = True

        ctx.on_cancel(on_cancel)
        started.set()
        outcome["cancelled"] = ctx.wait_for_cancellation(30)
        outcome["reason"] = ctx.cancel_reason
        done.set()
        return {}

    start_worker(workers, client, {"cancel": handler}, default_heartbeat_interval=0.2)
    arn = client.start_execution("cancel", {}).arn
    assert started.wait(30)
    client.stop_execution(arn, "Stopped", "by the test")
    assert done.wait(30)
    assert outcome == {"callback": True, "cancelled": True, "reason": CancelReason.CANCELLED}


def test_async_handler_sees_cancellation(client: stepflow.Client, workers: List[Worker]) -> None:
    client.create_state_machine("acancel", task_machine("acancel"))
    started = threading.Event()
    reasons: List[CancelReason] = []

    async def handler(ctx: TaskContext, input: Any) -> Any:
        started.set()
        if await ctx.wait_for_cancellation_async(30):
            reasons.append(ctx.cancel_reason)
        return {}

    w = start_worker(workers, client, {"acancel": handler}, default_heartbeat_interval=0.2)
    arn = client.start_execution("acancel", {}).arn
    assert started.wait(30)
    client.stop_execution(arn)
    assert wait_until(lambda: w.stats().running == 0)
    assert reasons == [CancelReason.CANCELLED]


def test_deadline_cancels_the_handler(client: stepflow.Client, workers: List[Worker]) -> None:
    client.create_state_machine("deadline", task_machine("deadline", TimeoutSeconds=1))
    reasons: List[CancelReason] = []

    def handler(ctx: TaskContext, input: Any) -> Any:
        assert ctx.deadline is not None
        ctx.wait_for_cancellation(30)
        reasons.append(ctx.cancel_reason)
        return {}

    start_worker(workers, client, {"deadline": handler}, default_heartbeat_interval=0)
    e = wait_for_end(client, client.start_execution("deadline", {}).arn)
    assert (e.status, e.error) == (ExecutionStatus.FAILED, "States.Timeout")
    assert wait_until(lambda: len(reasons) == 1)
    assert reasons[0] in (CancelReason.DEADLINE, CancelReason.TASK_GONE)


def test_stop_fails_a_handler_that_ignores_cancellation(client: stepflow.Client) -> None:
    client.create_state_machine("stuck", task_machine("stuck"))
    started = threading.Event()
    release = threading.Event()

    def handler(ctx: TaskContext, input: Any) -> Any:
        started.set()
        release.wait(60)
        return {}

    w = Worker(client, WorkerOptions(poll_wait=2, drain_timeout=0.2, shutdown_grace=0.2))
    w.handle("stuck", handler)
    w.start()
    arn = client.start_execution("stuck", {}).arn
    assert started.wait(30)
    begin = time.monotonic()
    assert w.stop() is False
    assert time.monotonic() - begin < 10
    release.set()
    e = wait_for_end(client, arn)
    assert (e.status, e.error) == (ExecutionStatus.FAILED, "Worker.Shutdown")
    assert w.stop() is False  # idempotent


def test_handle_and_start_refuse_misuse(client: stepflow.Client) -> None:
    w = Worker(client)
    with pytest.raises(RuntimeError):
        w.start()
    w.handle("q", lambda ctx, input: input)
    with pytest.raises(ValueError):
        w.handle("q", lambda ctx, input: input)
    assert w.stop() is True  # never started


def test_queues_take_turns_with_the_one_slot_when_their_polls_find_nothing(client: stepflow.Client,
                                                                           workers: List[Worker]) -> None:
    # One slot, two queues with nothing to do: the queue whose poll found nothing lets the other's waiting poller
    # have the slot, so a task of either is polled within a poll's wait or two. (Before, the thread of the empty
    # poll took the slot it freed again at once, and the other queue never polled.)
    polls = {"turn-a": 0, "turn-b": 0}
    lock = threading.Lock()
    poll_tasks_future = client.poll_tasks_future

    def counting(queue: str, *args: Any, **kwargs: Any) -> Any:
        with lock:
            polls[queue] += 1
        return poll_tasks_future(queue, *args, **kwargs)

    client.poll_tasks_future = counting  # type: ignore[assignment]
    start_worker(workers, client, {"turn-a": lambda ctx, input: "a", "turn-b": lambda ctx, input: "b"},
                 concurrency=1, poll_wait=1)
    assert wait_until(lambda: sum(polls.values()) >= 3, timeout=20)
    with lock:
        assert polls["turn-a"] >= 1 and polls["turn-b"] >= 1, polls
        quiet = min(polls, key=lambda q: polls[q])  # the other queue had the slot last
    client.create_state_machine(quiet, task_machine(quiet))
    arn = client.start_execution(quiet, {}).arn
    assert wait_until(lambda: client.describe_execution(arn).status != ExecutionStatus.RUNNING, timeout=20), \
        f"queue {quiet} never got the slot: {polls}"
    assert client.describe_execution(arn).status == ExecutionStatus.SUCCEEDED
