#pragma once
// stepflow.v1.Tasks and stepflow.v1.DeadLetters over engine::Engine (internal to engine/api; Server registers
// them). Poll answers a little before the call's own deadline; a cancelled call or a server shutdown ends it
// at once.
//
// Thread-safety: handlers run concurrently on gRPC's threads; the services keep no state of their own.

#include <functional>
#include <string>
#include <vector>

#include "engine/api/service_util.h"
#include "stepflow/v1/stepflow.grpc.pb.h"

namespace stepflow::api {

// Poll and PollBatch are served on gRPC's callback API: a poll that finds no task at once is parked in
// env->poll_pump (poll_pump.h) and holds no thread while it waits. PollBatch and ReportBatch are in
// task_batch_service.cc.
class TasksService final
    : public v1::Tasks::WithCallbackMethod_Poll<v1::Tasks::WithCallbackMethod_PollBatch<v1::Tasks::Service>> {
 public:
  explicit TasksService(ServiceEnv* env) : env_(env) {}

  grpc::ServerUnaryReactor* Poll(grpc::CallbackServerContext* context, const v1::PollTaskRequest* request,
                                 v1::PollTaskResponse* response) override;
  grpc::Status Complete(grpc::ServerContext* context, const v1::CompleteTaskRequest* request,
                        v1::CompleteTaskResponse* response) override;
  grpc::Status Fail(grpc::ServerContext* context, const v1::FailTaskRequest* request,
                    v1::FailTaskResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatTaskRequest* request,
                         v1::HeartbeatTaskResponse* response) override;
  grpc::ServerUnaryReactor* PollBatch(grpc::CallbackServerContext* context, const v1::PollTaskBatchRequest* request,
                                      v1::PollTaskBatchResponse* response) override;
  grpc::Status ReportBatch(grpc::ServerContext* context, const v1::ReportTaskBatchRequest* request,
                           v1::ReportTaskBatchResponse* response) override;

 private:
  ServiceEnv* env_;  // not owned
};

class DeadLettersService final : public v1::DeadLetters::Service {
 public:
  explicit DeadLettersService(ServiceEnv* env) : env_(env) {}

  grpc::Status List(grpc::ServerContext* context, const v1::ListDeadLettersRequest* request,
                    v1::ListDeadLettersResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const v1::GetDeadLetterRequest* request,
                   v1::DeadLetter* response) override;
  grpc::Status Redrive(grpc::ServerContext* context, const v1::RedriveDeadLettersRequest* request,
                       v1::RedriveDeadLettersResponse* response) override;
  grpc::Status Discard(grpc::ServerContext* context, const v1::DiscardDeadLettersRequest* request,
                       v1::DiscardDeadLettersResponse* response) override;

 private:
  ServiceEnv* env_;  // not owned
};

}  // namespace stepflow::api
