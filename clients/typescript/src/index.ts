// Stepflow's TypeScript SDK: a client of the public gRPC API and a worker. See README.md.
export {
  Client, jsonText, type CallOptions, type ListExecutionsFilter, type PublishOptions, type TaskReport,
  type TaskReportOutcome, type TestStateOptions,
} from './client.js';
export * as errors from './errors.js';
export { StepflowError, toStepflowError } from './errors.js';
export { withEnvironment, type ClientOptions } from './options.js';
export type {
  DeadLetter, DeadLetterFilter, DeadLetterOutcome, Diagnostic, Execution, ExecutionStatus, HistoryEvent, Page,
  Route, StateMachine, StateMachineAlias, StateMachineType, StateMachineVersion, Task, TaskAttempt, Validation,
  InspectionData, InspectionErrorDetails, TestStateResult,
} from './types.js';
export {
  TaskContext, TaskError, Worker, type CancelReason, type Handler, type WorkerLogger, type WorkerOptions,
  type WorkerStats,
} from './worker.js';
