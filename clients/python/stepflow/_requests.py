"""Request builders shared by the synchronous and the asyncio client (one place that fills the messages)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, List, Optional

from stepflow.types import DeadLetterFilter, ExecutionStatus, Route, StateMachineType, to_timestamp
from stepflow.v1 import stepflow_pb2 as pb


def json_text(value: Any) -> str:
    """JSON text of a value: a ``str`` is sent as it is (it must already be JSON text), anything else is
    encoded with ``json.dumps`` (``None`` = "{}")."""
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def create_state_machine(name: str, definition: Any, type: StateMachineType, publish: bool = False,
                         version_description: str = "") -> pb.CreateStateMachineRequest:
    return pb.CreateStateMachineRequest(name=name, definition=json_text(definition), type=type.name,
                                        publish=publish, version_description=version_description)


def update_state_machine(state_machine: str, definition: Any, publish: bool,
                         version_description: str) -> pb.UpdateStateMachineRequest:
    return pb.UpdateStateMachineRequest(state_machine=state_machine, definition=json_text(definition),
                                        publish=publish, version_description=version_description)


def publish_version(state_machine: str, description: str, revision: int) -> pb.PublishStateMachineVersionRequest:
    return pb.PublishStateMachineVersionRequest(state_machine=state_machine, description=description,
                                                revision=revision)


def list_versions(state_machine: str, page_size: int, page_token: str) -> pb.ListStateMachineVersionsRequest:
    return pb.ListStateMachineVersionsRequest(state_machine=state_machine, page_size=page_size,
                                              page_token=page_token)


def _routing(routing: Optional[List[Route]]) -> List[pb.RoutingConfiguration]:
    return [pb.RoutingConfiguration(version_arn=r.version_arn, weight=r.weight) for r in routing or []]


def create_alias(name: str, routing: List[Route], description: str) -> pb.CreateStateMachineAliasRequest:
    return pb.CreateStateMachineAliasRequest(name=name, description=description, routing=_routing(routing))


def update_alias(alias_arn: str, routing: Optional[List[Route]],
                 description: Optional[str]) -> pb.UpdateStateMachineAliasRequest:
    """Absent ``description`` and empty ``routing`` leave those unchanged."""
    r = pb.UpdateStateMachineAliasRequest(alias_arn=alias_arn, routing=_routing(routing))
    if description is not None:
        r.description = description
    return r


def list_aliases(state_machine: str, page_size: int, page_token: str) -> pb.ListStateMachineAliasesRequest:
    return pb.ListStateMachineAliasesRequest(state_machine=state_machine, page_size=page_size, page_token=page_token)


def list_executions(state_machine: str, status: Optional[ExecutionStatus], started_after: Optional[datetime],
                    started_before: Optional[datetime], page_size: int,
                    page_token: str) -> pb.ListExecutionsRequest:
    r = pb.ListExecutionsRequest(state_machine=state_machine, page_size=page_size, page_token=page_token,
                                 status=status.name if status is not None else None)
    if started_after is not None:
        r.started_after.CopyFrom(to_timestamp(started_after))
    if started_before is not None:
        r.started_before.CopyFrom(to_timestamp(started_before))
    return r


def list_dead_letters(filter: Optional[DeadLetterFilter], page_size: int,
                      page_token: str) -> pb.ListDeadLettersRequest:
    r = pb.ListDeadLettersRequest(page_size=page_size, page_token=page_token)
    if filter is not None:
        r.filter.CopyFrom(filter.to_pb())
    return r


def redrive_dead_letters(id: str, filter: Optional[DeadLetterFilter],
                         input: Any) -> pb.RedriveDeadLettersRequest:
    r = pb.RedriveDeadLettersRequest(id=id)
    if filter is not None:
        r.filter.CopyFrom(filter.to_pb())
    if input is not None:
        r.input = json_text(input)
    return r


def discard_dead_letters(id: str, filter: Optional[DeadLetterFilter]) -> pb.DiscardDeadLettersRequest:
    r = pb.DiscardDeadLettersRequest(id=id)
    if filter is not None:
        r.filter.CopyFrom(filter.to_pb())
    return r


def test_state(definition: Any, state_name: str, input: Any, inspection_level: str, variables: Any,
               mock_result: Any, mock_error: Optional[str], mock_cause: str,
               retrier_retry_count: int) -> pb.TestStateRequest:
    request = pb.TestStateRequest(definition=json_text(definition), state_name=state_name, input=json_text(input),
                                  inspection_level=inspection_level,
                                  variables="" if variables is None else json_text(variables),
                                  retrier_retry_count=retrier_retry_count)
    if mock_result is not None:
        request.mock.result = json_text(mock_result)
    if mock_error is not None:
        request.mock.error_output.error = mock_error
        request.mock.error_output.cause = mock_cause
    return request
