"""The synchronous client against the real server: every call, its typed results and its named errors."""

from __future__ import annotations

import json
from typing import List

import pytest

import stepflow
from stepflow import errors
from stepflow.types import DeadLetterFilter, ExecutionStatus, Route, StateMachineType

PASS_CHAIN = {"StartAt": "One", "States": {
    "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
    "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "End": True}}}
TASK = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "activity:py-work", "End": True}}}
WAIT = {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 600, "End": True}}}


def other_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[0] + ":no-such-execution"


def test_state_machines_create_describe_update_list_delete_validate(client: stepflow.Client) -> None:
    sm = client.create_state_machine("chain", PASS_CHAIN)
    assert sm.name == "chain" and sm.version == 1 and sm.type == StateMachineType.STANDARD
    assert json.loads(client.describe_state_machine("chain").definition) == PASS_CHAIN
    assert client.update_state_machine(sm.arn, json.dumps(PASS_CHAIN)).version == 2
    for i in range(4):
        client.create_state_machine(f"extra-{i}", PASS_CHAIN, StateMachineType.EXPRESS)
    first = client.list_state_machines_page(page_size=2)
    assert len(first.items) == 2 and first.next_page_token
    names = [m.name for m in client.list_state_machines(page_size=2)]
    assert sorted(names) == ["chain", "extra-0", "extra-1", "extra-2", "extra-3"]
    bad = client.validate_definition({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "B"}}})
    assert not bad.valid and len(bad.diagnostics) >= 2 and all(d.location for d in bad.diagnostics)
    assert client.validate_definition(PASS_CHAIN).valid
    client.delete_state_machine("extra-0")
    with pytest.raises(errors.StateMachineDoesNotExist) as e:
        client.describe_state_machine("extra-0")
    assert e.value.name == "StateMachineDoesNotExist" and e.value.message.startswith("StateMachineDoesNotExist: ")


def test_state_machine_errors_are_named(client: stepflow.Client) -> None:
    with pytest.raises(errors.InvalidDefinition):
        client.create_state_machine("bad", {"StartAt": "Nope", "States": {}})
    client.create_state_machine("dup", PASS_CHAIN)
    with pytest.raises(errors.StateMachineAlreadyExists) as e:
        client.create_state_machine("dup", {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}})
    assert isinstance(e.value, stepflow.StepflowError)
    with pytest.raises(errors.InvalidName):
        client.create_state_machine("bad name with spaces/and slashes", PASS_CHAIN)


def test_start_describe_history_and_sync(client: stepflow.Client) -> None:
    client.create_state_machine("chain", PASS_CHAIN)
    done = client.start_sync_execution("chain", {"x": 1}, name="sync-1", timeout=30)
    assert done.status == ExecutionStatus.SUCCEEDED
    assert done.output_value == {"x": 1, "one": 1, "two": 2}
    again = client.describe_execution(done.arn)
    assert again.name == "sync-1" and again.stop_date is not None and again.input_value == {"x": 1}
    events = list(client.get_execution_history(done.arn, page_size=2))
    assert events[0].type == "ExecutionStarted" and events[-1].type == "ExecutionSucceeded"
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    backwards = list(client.get_execution_history(done.arn, reverse_order=True, page_size=3))
    assert [e.id for e in backwards] == [e.id for e in reversed(events)]
    watched = [e.type for e in client.watch_execution_history(done.arn)]
    assert watched == [e.type for e in events]
    assert client.describe_state_machine_for_execution(done.arn).name == "chain"
    # Idempotent start: same name and input returns it; a different input is refused.
    assert client.start_execution("chain", {"x": 1}, name="sync-1").arn == done.arn
    with pytest.raises(errors.ExecutionAlreadyExists):
        client.start_execution("chain", {"x": 2}, name="sync-1")
    with pytest.raises(errors.ExecutionDoesNotExist):
        client.describe_execution(other_arn(done.arn))
    with pytest.raises(errors.StateMachineDoesNotExist):
        client.start_execution("no-such-machine", {})
    # By state machine (name or ARN) and execution name, without the ARN.
    assert client.describe_execution_by_name("chain", "sync-1").arn == done.arn
    assert client.describe_execution_by_name(done.state_machine_arn, "sync-1").arn == done.arn
    with pytest.raises(errors.ExecutionDoesNotExist):
        client.describe_execution_by_name("chain", "no-such-execution")
    with pytest.raises(errors.ExecutionDoesNotExist):
        client.describe_execution_by_name("no-such-machine", "sync-1")


def test_list_executions_pages_and_filters(client: stepflow.Client) -> None:
    client.create_state_machine("chain", PASS_CHAIN)
    client.create_state_machine("wait", WAIT)
    finished = [client.start_sync_execution("chain", {"i": i}, name=f"e{i}") for i in range(5)]
    running = client.start_execution("wait", {}, name="w")
    page = client.list_executions_page(page_size=2)
    assert len(page.items) == 2 and page.next_page_token
    all_names = [e.name for e in client.list_executions(page_size=2)]
    assert sorted(all_names) == ["e0", "e1", "e2", "e3", "e4", "w"]
    assert [e.arn for e in client.list_executions(status=ExecutionStatus.RUNNING)] == [running.arn]
    chain = {e.arn for e in client.list_executions(state_machine="chain", page_size=3)}
    assert chain == {e.arn for e in finished}
    assert list(client.list_executions(started_before=finished[0].start_date)) == []


def test_stop_and_redrive(client: stepflow.Client) -> None:
    client.create_state_machine("wait", WAIT)
    e = client.start_execution("wait", {})
    stopped = client.stop_execution(e.arn, "Operator.Stop", "enough")
    assert stopped.status == ExecutionStatus.ABORTED and stopped.error == "Operator.Stop"
    with pytest.raises(errors.ExecutionNotRunning):
        client.stop_execution(e.arn)
    with pytest.raises(errors.ExecutionDoesNotExist):
        client.stop_execution(other_arn(e.arn))

    client.create_state_machine("task", TASK)
    t = client.start_execution("task", {"n": 1})
    task = client.poll_task("py-work", "tester", wait_seconds=10)
    assert task is not None and task.execution_arn == t.arn and task.input_value == {"n": 1}
    assert task.state_name == "Work" and task.attempt == 0 and task.queue == "py-work"
    client.fail_task(task.token, "Boom", "first try")
    failed = client.describe_execution(t.arn)
    assert failed.status == ExecutionStatus.FAILED and failed.error == "Boom" and failed.cause == "first try"
    redriven = client.redrive_execution(t.arn)
    assert redriven.status == ExecutionStatus.RUNNING and redriven.redrive_count == 1
    task = client.poll_task("py-work", "tester", wait_seconds=10)
    assert task is not None
    assert client.heartbeat_task(task.token) is False
    client.complete_task(task.token, {"ok": True})
    client.complete_task(task.token, {"ok": True})  # a repeated completion changes nothing
    done = client.describe_execution(t.arn)
    assert done.status == ExecutionStatus.SUCCEEDED and done.output_value == {"ok": True}
    with pytest.raises(errors.ExecutionNotRedrivable):
        client.redrive_execution(t.arn)


def test_task_errors_are_named(client: stepflow.Client) -> None:
    with pytest.raises(errors.InvalidToken):
        client.complete_task("not-a-token", {})
    client.create_state_machine("task", TASK)
    client.start_execution("task", {})
    task = client.poll_task("py-work", wait_seconds=10)
    assert task is not None
    with pytest.raises(errors.InvalidOutput):
        client.complete_task(task.token, "{not json")
    assert client.poll_task("empty-queue", wait_seconds=1) is None


def test_dead_letters_list_get_redrive_discard(client: stepflow.Client) -> None:
    client.create_state_machine("task", TASK)
    arns: List[str] = []
    for i in range(3):
        arns.append(client.start_execution("task", {"i": i}).arn)
        task = client.poll_task("py-work", "dl-tester", wait_seconds=10)
        assert task is not None
        client.fail_task(task.token, "Bad", f"attempt of {i}")
    letters = list(client.list_dead_letters(DeadLetterFilter(queue="py-work"), page_size=2))
    assert sorted(d.execution_arn for d in letters) == sorted(arns)
    one = client.get_dead_letter(letters[0].id)
    assert one.error == "Bad" and one.attempts[-1].worker_identity == "dl-tester" and one.state_name == "Work"
    assert list(client.list_dead_letters(DeadLetterFilter(error="Other"))) == []
    outcome = client.redrive_dead_letters(id=one.id, input={"fixed": True})
    assert [o.error for o in outcome] == [""] and outcome[0].execution_arn == one.execution_arn
    task = client.poll_task("py-work", wait_seconds=10)
    assert task is not None and task.input_value == {"fixed": True}
    client.complete_task(task.token, {"done": 1})
    assert client.describe_execution(one.execution_arn).status == ExecutionStatus.SUCCEEDED
    discarded = client.discard_dead_letters(filter=DeadLetterFilter(queue="py-work"))
    assert len(discarded) == 2 and all(o.error == "" for o in discarded)
    assert list(client.list_dead_letters()) == []
    with pytest.raises(errors.DeadLetterDoesNotExist):
        client.get_dead_letter(one.id)


def test_unreachable_server_is_service_unavailable() -> None:
    from server import free_port
    with pytest.raises(errors.ServiceUnavailable):
        stepflow.Client.connect(f"127.0.0.1:{free_port()}", timeout=0.3)
    c = stepflow.Client(f"127.0.0.1:{free_port()}")
    with pytest.raises(errors.ServiceUnavailable):
        c.describe_state_machine("x")
    c.close()


def test_versions_and_aliases(client: stepflow.Client) -> None:
    client.create_state_machine("vers", PASS_CHAIN)
    v1 = client.publish_state_machine_version("vers", "first")
    assert v1.arn.endswith(":vers:1") and v1.revision == 1 and v1.description == "first"
    assert client.publish_state_machine_version("vers").arn == v1.arn  # idempotent
    changed = dict(PASS_CHAIN, Comment="changed")
    client.update_state_machine("vers", json.dumps(changed))
    with pytest.raises(errors.ConflictException):
        client.publish_state_machine_version("vers", revision=1)
    v2 = client.publish_state_machine_version("vers", revision=2)
    assert [v.arn for v in client.list_state_machine_versions_page("vers").items] == [v2.arn, v1.arn]
    assert json.loads(client.describe_state_machine_version(v1.arn).definition) == PASS_CHAIN
    alias = client.create_state_machine_alias("live", [Route(v1.arn, 100)], description="d")
    with pytest.raises(errors.ConflictException):
        client.delete_state_machine_version(v1.arn)
    done = client.start_sync_execution(alias.arn, {"x": 1}, name="via-alias", timeout=30)
    assert done.state_machine_alias_arn == alias.arn and done.state_machine_version_arn == v1.arn
    moved = client.update_state_machine_alias(alias.arn, [Route(v2.arn, 100)])
    assert moved.routing == [Route(v2.arn, 100)] and moved.description == "d"
    assert [a.arn for a in client.list_state_machine_aliases_page("vers").items] == [alias.arn]
    client.delete_state_machine_version(v1.arn)
    client.delete_state_machine_alias(alias.arn)
    with pytest.raises(errors.ResourceNotFound):
        client.describe_state_machine_alias(alias.arn)
    with pytest.raises(errors.ValidationException):
        client.create_state_machine_alias("half", [Route(v2.arn, 50)])


def test_versions_and_aliases_iterate_and_list_their_executions(client: stepflow.Client) -> None:
    first = client.create_state_machine("listed", PASS_CHAIN, publish=True, version_description="one")
    assert first.state_machine_version_arn.endswith(":listed:1")
    assert client.describe_state_machine_version(first.state_machine_version_arn).description == "one"
    second = client.update_state_machine("listed", dict(PASS_CHAIN, Comment="2"), publish=True)
    assert second.version == 2 and second.state_machine_version_arn.endswith(":listed:2")
    assert client.update_state_machine("listed", dict(PASS_CHAIN, Comment="3")).state_machine_version_arn == ""
    with pytest.raises(errors.ValidationException):
        client.update_state_machine("listed", PASS_CHAIN, version_description="needs publish")
    assert [v.version for v in client.list_state_machine_versions("listed", page_size=1)] == [2, 1]
    alias = client.create_state_machine_alias("live", [Route(second.state_machine_version_arn, 100)])
    client.create_state_machine_alias("zz", [Route(first.state_machine_version_arn, 100)])
    assert [a.name for a in client.list_state_machine_aliases("listed", page_size=1)] == ["live", "zz"]

    on_v1 = [client.start_execution(first.state_machine_version_arn, name=f"v1-{i}").arn for i in range(3)]
    via_alias = [client.start_execution(alias.arn, name=f"a-{i}").arn for i in range(3)]
    client.start_execution("listed", name="latest")
    assert sorted(e.arn for e in client.list_executions(first.state_machine_version_arn, page_size=2)) == \
        sorted(on_v1)
    listed = list(client.list_executions(alias.arn, page_size=2))
    assert sorted(e.arn for e in listed) == sorted(via_alias)
    assert all(e.state_machine_alias_arn == alias.arn for e in listed)
    assert len(list(client.list_executions("listed"))) == 7
    with pytest.raises(errors.ValidationException):
        client.list_executions_page(alias.arn, status=ExecutionStatus.RUNNING)


def test_concurrent_update_and_publish_each_get_their_own_version(client: stepflow.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor
    client.create_state_machine("raced", PASS_CHAIN)

    def update(i: int) -> stepflow.StateMachine:
        return client.update_state_machine("raced", dict(PASS_CHAIN, Comment=f"rev {i}"), publish=True,
                                           version_description=f"call {i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(update, range(24)))
    assert len({r.state_machine_version_arn for r in results}) == 24
    for r in results:
        version = client.describe_state_machine_version(r.state_machine_version_arn)
        assert version.revision == r.version
        assert json.loads(version.definition) == json.loads(r.definition)
    assert len(list(client.list_state_machine_versions("raced"))) == 24


def test_test_state_results_and_inspection(client: stepflow.Client) -> None:
    task = {"Type": "Task", "Resource": "activity:x", "ResultSelector": {"v.$": "$.value"}, "ResultPath": "$.r",
            "Next": "Done", "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}]}
    ok = client.test_state(task, input={"a": 1}, mock_result={"value": 5}, inspection_level="DEBUG")
    assert ok.status == "SUCCEEDED" and ok.next_state == "Done" and ok.output_value == {"a": 1, "r": {"v": 5}}
    assert ok.inspection_data is not None and ok.inspection_data.error_details is None
    assert stepflow.InspectionData.value(ok.inspection_data.after_result_selector) == {"v": 5}
    retriable = client.test_state(task, mock_error="Flaky", mock_cause="again", inspection_level="DEBUG",
                                  retrier_retry_count=1)
    assert retriable.status == "RETRIABLE" and retriable.next_state == "TestState"
    assert retriable.inspection_data is not None
    assert retriable.inspection_data.error_details == stepflow.InspectionErrorDetails(
        retry_index=0, retry_backoff_interval_seconds=4)
    caught = client.test_state(task, mock_error="Other", inspection_level="TRACE")
    assert caught.status == "CAUGHT_ERROR" and caught.next_state == "Recover"
    assert caught.inspection_data is not None and caught.inspection_data.error_details is not None
    assert caught.inspection_data.error_details.catch_index == 0
    assert client.test_state(task, mock_result={"value": 1}).inspection_data is None  # INFO
    mapped = client.test_state({"Type": "Map", "ItemsPath": "$.xs", "ToleratedFailureCount": 1, "End": True,
                                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}},
                               input={"xs": [1, 2]}, mock_result=[], inspection_level="DEBUG")
    assert mapped.inspection_data is not None
    assert stepflow.InspectionData.value(mapped.inspection_data.after_item_selector) == [1, 2]
    assert mapped.inspection_data.tolerated_failure_count == 1 and mapped.inspection_data.max_concurrency is None
    with pytest.raises(errors.ValidationException):
        client.test_state(task)  # a Task needs a mock
    with pytest.raises(errors.InvalidDefinition):
        client.test_state({"Type": "Nope"})
    with pytest.raises(errors.InvalidExecutionInput):
        client.test_state({"Type": "Pass", "End": True}, input="{not json")
