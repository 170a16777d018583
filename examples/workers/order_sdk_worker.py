#!/usr/bin/env python3
"""The workers of examples/order.asl.json with the Python SDK (clients/python): one process serves the
charge-card, ship and email queues, 4 tasks at a time, until SIGTERM or Ctrl-C.

    python3 examples/workers/order_sdk_worker.py [ADDRESS]       # default 127.0.0.1:7233

Token and TLS settings come from STEPFLOW_TOKEN, STEPFLOW_TLS, STEPFLOW_CA_CERT, ... as for the CLI.
"""
import sys
from typing import Any

import stepflow

client = stepflow.Client.connect(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7233",
                                 options=stepflow.ClientOptions().with_environment())
worker = stepflow.Worker(client, stepflow.WorkerOptions(concurrency=4))


@worker.handler("charge-card")
def charge_card(ctx: stepflow.TaskContext, task: Any) -> Any:
    payload = task.get("Payload", {})
    if payload.get("amount", 0) > 1000:
        raise stepflow.TaskError("Card.Declined", "amount over the card's limit")  # Retry matches it
    # lambda:invoke results carry the function's answer under "Payload", as on AWS.
    return {"Payload": {"chargeId": f"ch-{payload.get('orderId', '?')}"}}


@worker.handler("ship")
def ship(ctx: stepflow.TaskContext, order: Any) -> Any:
    return {"tracking": f"TRACK-{order.get('orderId', '?')}"}


@worker.handler("email")
async def email(ctx: stepflow.TaskContext, order: Any) -> Any:
    return {"sent": True}


print("order workers ready", flush=True)
sys.exit(0 if worker.run() else 1)
