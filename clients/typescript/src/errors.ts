// Errors of the Stepflow API as exception classes named after their AWS error names.
//
// The server sends every error as a gRPC status whose message starts with the AWS-style error name
// ("ExecutionDoesNotExist: arn:... does not exist") and repeats that name in the trailing metadata key
// "stepflow-error". toStepflowError() turns such a status into the class of that name (a subclass of
// StepflowError); a name this module does not know becomes a plain StepflowError whose `name` is still the
// server's. Errors that never reached the server get a name too: ServiceUnavailable (cannot connect) and
// Timeout (the call's deadline passed on this side).
import * as grpc from '@grpc/grpc-js';

export const ERROR_NAME_METADATA_KEY = 'stepflow-error';

export class StepflowError extends Error {
  /** The gRPC status code. */
  readonly code: grpc.status;
  /** The server's message, error name included. */
  override readonly message: string;
  constructor(name: string, message: string, code: grpc.status = grpc.status.UNKNOWN) {
    super(message);
    this.name = name;
    this.message = message;
    this.code = code;
  }
}

// One class per name the server uses (engine/api).
export class ValidationException extends StepflowError {}
export class InvalidDefinition extends StepflowError {}
export class InvalidName extends StepflowError {}
export class InvalidArn extends StepflowError {}
export class InvalidToken extends StepflowError {}
export class InvalidOutput extends StepflowError {}
export class InvalidExecutionInput extends StepflowError {}
export class InvalidArgument extends StepflowError {}
export class ResourceNotFound extends StepflowError {}
export class StateMachineDoesNotExist extends StepflowError {}
export class ExecutionDoesNotExist extends StepflowError {}
export class TaskDoesNotExist extends StepflowError {}
export class DeadLetterDoesNotExist extends StepflowError {}
export class ResourceConflict extends StepflowError {}
export class StateMachineAlreadyExists extends StepflowError {}
export class ExecutionAlreadyExists extends StepflowError {}
export class FailedPrecondition extends StepflowError {}
export class ExecutionNotRunning extends StepflowError {}
export class ExecutionNotRedrivable extends StepflowError {}
export class ExecutionQuarantined extends StepflowError {}
export class TaskTimedOut extends StepflowError {}
export class DeadLetterNotDiscardable extends StepflowError {}
export class SemanticsVersionUnsupported extends StepflowError {}
export class UnrecognizedClientException extends StepflowError {}
export class AccessDeniedException extends StepflowError {}
export class ThrottlingException extends StepflowError {}
export class ResourceExhausted extends StepflowError {}
export class ServiceUnavailable extends StepflowError {}
export class DiskFull extends StepflowError {}
export class Timeout extends StepflowError {}
export class Cancelled extends StepflowError {}
export class InternalFailure extends StepflowError {}
// Versions and aliases (AWS's names).
export class ConflictException extends StepflowError {}
export class ServiceQuotaExceededException extends StepflowError {}
export class UnsupportedOperation extends StepflowError {}

type ErrorClass = new (name: string, message: string, code?: grpc.status) => StepflowError;

const CLASSES: Record<string, ErrorClass> = {
  ValidationException, InvalidDefinition, InvalidName, InvalidArn, InvalidToken, InvalidOutput,
  InvalidExecutionInput, InvalidArgument, ResourceNotFound, StateMachineDoesNotExist, ExecutionDoesNotExist,
  TaskDoesNotExist, DeadLetterDoesNotExist, ResourceConflict, StateMachineAlreadyExists, ExecutionAlreadyExists,
  FailedPrecondition, ExecutionNotRunning, ExecutionNotRedrivable, ExecutionQuarantined, TaskTimedOut,
  DeadLetterNotDiscardable, SemanticsVersionUnsupported, UnrecognizedClientException, AccessDeniedException,
  ThrottlingException, ResourceExhausted, ServiceUnavailable, DiskFull, Timeout, Cancelled, InternalFailure,
  ConflictException, ServiceQuotaExceededException, UnsupportedOperation,
};

// The name of an error that carries none (the call never reached the server, or a proxy answered).
const GENERIC_NAMES: Partial<Record<grpc.status, string>> = {
  [grpc.status.INVALID_ARGUMENT]: 'ValidationException',
  [grpc.status.NOT_FOUND]: 'ResourceNotFound',
  [grpc.status.ALREADY_EXISTS]: 'ResourceConflict',
  [grpc.status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [grpc.status.DEADLINE_EXCEEDED]: 'Timeout',
  [grpc.status.UNAVAILABLE]: 'ServiceUnavailable',
  [grpc.status.CANCELLED]: 'Cancelled',
  [grpc.status.UNAUTHENTICATED]: 'UnrecognizedClientException',
  [grpc.status.PERMISSION_DENIED]: 'AccessDeniedException',
  [grpc.status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
};

/** The error name at the start of `message` ("Name: text"), or "" when it has none. */
export function errorNamePrefix(message: string): string {
  const match = /^([A-Za-z][A-Za-z0-9._]{0,127}): /.exec(message);
  return match ? match[1] : '';
}

/** The exception of class `name` (a plain StepflowError for a name not known here). */
export function makeError(name: string, message: string, code: grpc.status = grpc.status.UNKNOWN): StepflowError {
  const cls = CLASSES[name] ?? StepflowError;
  return new cls(name, message, code);
}

/** Converts a failed gRPC call into the named exception. */
export function toStepflowError(error: unknown): StepflowError {
  if (error instanceof StepflowError) {
    return error;
  }
  const e = error as Partial<grpc.ServiceError>;
  const code = typeof e.code === 'number' ? e.code : grpc.status.UNKNOWN;
  const details = e.details || (error instanceof Error ? error.message : String(error));
  const trailer = e.metadata?.get(ERROR_NAME_METADATA_KEY)[0];
  const name = (typeof trailer === 'string' && trailer) || errorNamePrefix(details) || GENERIC_NAMES[code] ||
    'InternalFailure';
  const message = details.startsWith(`${name}: `) ? details : `${name}: ${details}`;
  return makeError(name, message, code);
}
