"""Stepflow's Python SDK: a client of the public gRPC API (sync: stepflow.Client; asyncio:
stepflow.aio.AsyncClient) and a worker (stepflow.Worker). See README.md."""

from stepflow.client import Client
from stepflow.errors import StepflowError
from stepflow.options import ClientOptions
from stepflow.task_context import CancelReason, TaskContext, TaskError
from stepflow.types import (DeadLetter, DeadLetterFilter, DeadLetterOutcome, Diagnostic, Execution,
                            ExecutionStatus, HistoryEvent, InspectionData, InspectionErrorDetails, Page, Route,
                            StateMachine, StateMachineAlias, StateMachineType, StateMachineVersion, Task,
                            TaskAttempt, TestStateResult, Validation)
from stepflow.worker import Handler, Worker, WorkerOptions, WorkerStats

__all__ = [
    "Client", "ClientOptions", "StepflowError", "CancelReason", "TaskContext", "TaskError", "DeadLetter",
    "DeadLetterFilter", "DeadLetterOutcome", "Diagnostic", "Execution", "ExecutionStatus", "HistoryEvent", "Page",
    "Route", "StateMachine", "StateMachineAlias", "StateMachineType", "StateMachineVersion", "Task", "TaskAttempt", "Validation", "InspectionData",
    "InspectionErrorDetails", "TestStateResult", "Handler", "Worker", "WorkerOptions",
    "WorkerStats",
]
