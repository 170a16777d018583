#!/usr/bin/env python3
"""A worker for examples/order.asl.json, run by `stepflow worker` once per task:

    stepflow worker --queue charge-card -- python3 examples/workers/order_worker.py
    stepflow worker --queue ship        -- python3 examples/workers/order_worker.py
    stepflow worker --queue email       -- python3 examples/workers/order_worker.py

The task's input is JSON on stdin; the output is JSON on stdout. To fail the task, exit non-zero and print
{"error": NAME, "cause": TEXT} as the last line on stderr: Retry and Catch match on NAME.
"""
import json
import os
import sys

task = json.load(sys.stdin)
queue = os.environ.get("STEPFLOW_QUEUE", "")

if queue == "charge-card":
    payload = task.get("Payload", {})
    if payload.get("amount", 0) > 1000:
        print(json.dumps({"error": "Card.Declined", "cause": "amount over the card's limit"}), file=sys.stderr)
        sys.exit(1)
    # lambda:invoke results carry the function's answer under "Payload", as on AWS.
    print(json.dumps({"Payload": {"chargeId": "ch-" + str(payload.get("orderId", "?"))}}))
elif queue == "ship":
    print(json.dumps({"tracking": "TRACK-" + task.get("orderId", "?")}))
elif queue == "email":
    print(json.dumps({"sent": True}))
else:
    print(json.dumps({"error": "Worker.UnknownQueue", "cause": "no handler for queue " + queue}), file=sys.stderr)
    sys.exit(1)
