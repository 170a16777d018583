"""The shared worker scenarios (tests/sdk/worker_scenarios.json) on stepflow.Worker against the real server: the
same file drives the C++ and TypeScript workers, so the three keep one contract. Each scenario gets its own
server; an unknown behaviour word or key fails the scenario."""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable, Dict, Iterator, List

import pytest

import stepflow
from stepflow import TaskContext, TaskError, Worker, WorkerOptions
from stepflow.types import Execution, ExecutionStatus

SCENARIO_KEYS = {"name", "description", "definition", "queue", "input", "worker", "handler", "stop", "expect"}
EXPECT_KEYS = {"status", "output", "error", "cause", "events", "handler_calls"}
WORKER_KEYS = {"default_heartbeat_interval_ms"}
STOP_KEYS = {"after_event", "error", "cause"}
WAIT_SECONDS = 60  # the bound of every wait on the server or the handler


def scenario_path() -> str:
    path = os.environ.get("STEPFLOW_WORKER_SCENARIOS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "sdk", "worker_scenarios.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the shared worker scenarios are not at {path}: set STEPFLOW_WORKER_SCENARIOS")
    return path


def load_scenarios() -> List[Dict[str, Any]]:
    with open(scenario_path(), encoding="utf-8") as f:
        scenarios: List[Dict[str, Any]] = json.load(f)["scenarios"]
    if not scenarios:
        raise ValueError("the scenario file has no scenarios")
    return scenarios


class UnknownBehaviour(Exception):
    pass


class Calls:
    """What each handler call saw when it returned: {attempt, cancel_reason}; waitable."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.seen: List[Dict[str, Any]] = []

    def record(self, ctx: TaskContext) -> None:
        with self.cond:
            self.seen.append({"attempt": ctx.attempt, "cancel_reason": ctx.cancel_reason.value})
            self.cond.notify_all()

    def wait_for(self, n: int) -> List[Dict[str, Any]]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.seen) >= n, timeout=WAIT_SECONDS)
            return sorted(self.seen, key=lambda c: int(c["attempt"]))


def run_behaviour(b: Dict[str, Any], ctx: TaskContext, input: Any) -> Any:
    """One behaviour word of the scenario file (its "behaviours" section says what each does)."""
    word = b.get("do")
    if word == "echo":
        return input
    if word == "return":
        return b["value"]
    if word == "describe_context":
        return {"input": input, "attempt": ctx.attempt, "state": ctx.state_name,
                "heartbeat_seconds": ctx.heartbeat_seconds, "has_deadline": ctx.deadline is not None}
    if word == "fail":
        raise TaskError(b["error"], b["cause"])
    if word == "raise":
        raise RuntimeError(b["message"])
    if word == "sleep_ms":
        cancelled = ctx.wait_for_cancellation(b["ms"] / 1000)
        return {"cancelled": cancelled, "reason": ctx.cancel_reason.value}
    if word == "wait_for_cancel":
        if not ctx.wait_for_cancellation(b["timeout_ms"] / 1000):
            raise TaskError("Scenario.NotCancelled", f"not cancelled within {b['timeout_ms']} ms")
        return {"cancelled": True, "reason": ctx.cancel_reason.value}
    raise UnknownBehaviour(f"unknown behaviour word {word!r} in {b}")


def make_handler(behaviours: List[Dict[str, Any]], calls: Calls) -> Callable[[TaskContext, Any], Any]:
    for b in behaviours:  # loudly, before anything runs
        if b.get("do") not in {"echo", "return", "describe_context", "fail", "raise", "sleep_ms", "wait_for_cancel"}:
            raise UnknownBehaviour(f"unknown behaviour word {b.get('do')!r} in {b}")

    def handler(ctx: TaskContext, input: Any) -> Any:
        try:
            return run_behaviour(behaviours[min(ctx.attempt, len(behaviours) - 1)], ctx, input)
        finally:
            calls.record(ctx)

    return handler


def check_keys(what: str, got: Dict[str, Any], allowed: set[str]) -> None:
    unknown = set(got) - allowed
    assert not unknown, f"unknown {what} keys {sorted(unknown)} (known: {sorted(allowed)})"


def wait_for_event(client: stepflow.Client, arn: str, event_type: str) -> None:
    for event in client.watch_execution_history(arn, timeout=WAIT_SECONDS):
        if event.type == event_type:
            return
    pytest.fail(f"the execution ended without a {event_type} event")


def wait_for_end(client: stepflow.Client, arn: str) -> Execution:
    for _ in client.watch_execution_history(arn, timeout=WAIT_SECONDS):
        pass  # the stream ends when the execution does
    e = client.describe_execution(arn)
    assert e.status != ExecutionStatus.RUNNING
    return e


@pytest.fixture
def workers() -> Iterator[List[Worker]]:
    started: List[Worker] = []
    yield started
    for w in started:
        w.stop()


@pytest.mark.parametrize("scenario", load_scenarios(), ids=lambda s: str(s.get("name")))
def test_worker_scenario(scenario: Dict[str, Any], client: stepflow.Client, workers: List[Worker]) -> None:
    check_keys("scenario", scenario, SCENARIO_KEYS)
    expect: Dict[str, Any] = scenario["expect"]
    check_keys("expect", expect, EXPECT_KEYS)
    worker_options: Dict[str, Any] = scenario.get("worker", {})
    check_keys("worker", worker_options, WORKER_KEYS)
    calls = Calls()
    handler = make_handler(scenario["handler"], calls)

    options = WorkerOptions(poll_wait=1, concurrency=2, drain_timeout=5, shutdown_grace=1)
    if "default_heartbeat_interval_ms" in worker_options:
        options.default_heartbeat_interval = worker_options["default_heartbeat_interval_ms"] / 1000
    client.create_state_machine("scenario", scenario["definition"])
    worker = Worker(client, options)
    worker.handle(scenario["queue"], handler)
    worker.start()
    workers.append(worker)

    arn = client.start_execution("scenario", json.dumps(scenario["input"])).arn
    if "stop" in scenario:
        stop: Dict[str, Any] = scenario["stop"]
        check_keys("stop", stop, STOP_KEYS)
        wait_for_event(client, arn, stop["after_event"])
        client.stop_execution(arn, stop["error"], stop["cause"])
    e = wait_for_end(client, arn)
    history = [event.type for event in client.get_execution_history(arn)]
    what = f"{e.status.name} error={e.error!r} cause={e.cause!r} output={e.output}\nhistory: {history}"

    assert e.status.name == expect["status"], what
    if "output" in expect:
        assert e.output_value == expect["output"], what
    if "error" in expect:
        assert e.error == expect["error"], what
    if "cause" in expect:
        assert e.cause == expect["cause"], what
    for event_type, count in expect.get("events", {}).items():
        assert history.count(event_type) == count, f"{event_type}: {what}"
    if "handler_calls" in expect:
        want: List[Dict[str, Any]] = expect["handler_calls"]
        seen = calls.wait_for(len(want))
        assert len(seen) == len(want), f"handler calls {seen}, expected {want}"
        for got, wanted in zip(seen, want):
            check_keys("handler_calls", wanted, {"attempt", "cancel_reason"})
            reason = wanted["cancel_reason"]
            reasons = reason if isinstance(reason, list) else [reason]
            assert got["attempt"] == wanted["attempt"] and got["cancel_reason"] in reasons, \
                f"handler calls {seen}, expected {want}"
