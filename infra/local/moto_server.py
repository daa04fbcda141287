#!/usr/bin/env python3
"""moto_server, with DynamoDB requests applied one at a time.

DynamoDB applies a conditional write or a transaction atomically: of two concurrent inserts
conditioned on `attribute_not_exists`, exactly one succeeds. moto serves each request on its
own thread and does not lock its DynamoDB backend: a TransactWriteItems checks its conditions,
then writes (restoring a deep copy of the table if one fails), so two concurrent transactions
can both pass their checks, and a failed one can undo a write made meanwhile. The tests of
Hookline's uniqueness and optimistic-concurrency guarantees (the manufacturer registry, sync
requests, deliveries) would then fail on the emulator, not on the adapter.

This launcher serializes every DynamoDB request behind one lock, as the service behaves for
the conditions those tests rely on, and leaves the other services (SQS long polls) concurrent.
Same arguments as `moto_server`.
"""

import sys
import threading

from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialized_call_action(self):
    with _LOCK:
        return _call_action(self)


DynamoHandler.call_action = _serialized_call_action

from moto.server import main  # noqa: E402  (after the patch, so the server uses it)

if __name__ == "__main__":
    sys.exit(main())
