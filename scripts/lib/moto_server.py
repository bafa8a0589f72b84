"""moto_server, with DynamoDB's per-item atomicity.

moto serves requests on threads and its DynamoDB writes are read-modify-write without a lock, so two
concurrent `UpdateItem ADD`s (or conditional puts) can lose one another. Real DynamoDB applies each
write atomically, and the gateway's rate limits and idempotency claims rely on that across
processes. This wrapper serializes DynamoDB writes (one lock for all items: coarser than DynamoDB,
never weaker) and then runs moto's own server with the arguments given.
"""
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_lock = threading.Lock()


def _serialized(write):
    def locked(self, *args, **kwargs):
        with _lock:
            return write(self, *args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main()
