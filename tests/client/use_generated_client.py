"""A portal's first session, written against the client that openapi-python-client generated
from Hookline's OpenAPI document (package `hookline_client`, on PYTHONPATH, unmodified):
get a token, register a client, subscribe a webhook receiver, publish an event, see it
arrive signed, and list its deliveries. Run by infra/scripts/generated-client.sh:

    python use_generated_client.py BASE_URL ADMIN_CLIENT_ID ADMIN_CLIENT_SECRET

Exits non-zero, saying which step failed, on any answer the document does not promise.
"""

import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hookline_client import AuthenticatedClient, Client
from hookline_client.api.clients import create_client
from hookline_client.api.deliveries import list_deliveries
from hookline_client.api.events import get_event, publish_events
from hookline_client.api.oauth import token
from hookline_client.api.subscriptions import create_subscription
from hookline_client.models import (
    GrantType,
    ListViewDeliveryView,
    NewClient,
    NewEvent,
    NewSubscription,
    PublishedView,
    SubscriptionView,
    TokenRequest,
    TokenResponse,
)

TIMEOUT = 60.0


def check(condition, what):
    if not condition:
        sys.exit(f"generated client: {what}")


def access_token(base, client_id, client_secret):
    answer = token.sync(
        client=Client(base_url=base, raise_on_unexpected_status=True),
        body=TokenRequest(
            grant_type=GrantType.CLIENT_CREDENTIALS,
            client_id=client_id,
            client_secret=client_secret,
        ),
    )
    check(isinstance(answer, TokenResponse), f"token: {answer!r}")
    check(answer.token_type == "Bearer" and answer.expires_in > 0, f"token: {answer!r}")
    return answer.access_token


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver on 127.0.0.1 that keeps what it is sent."""

    received = []
    arrived = threading.Event()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        Receiver.received.append((dict(self.headers.items()), body))
        Receiver.arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def verify(secret, headers, body):
    """Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`, keyed by the secret's bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if "," in s]
    return any(hmac.compare_digest(expected, s) for s in offered)


def main():
    base, admin_id, admin_secret = sys.argv[1:4]
    admin = AuthenticatedClient(
        base_url=base,
        token=access_token(base, admin_id, admin_secret),
        raise_on_unexpected_status=True,
    )

    portal = create_client.sync(
        client=admin,
        body=NewClient(
            name="generated-client portal",
            states=["AP"],
            scopes=["events:write", "events:read", "subscriptions:read", "subscriptions:write"],
        ),
    )
    check(portal is not None and portal.client_secret, f"create client: {portal!r}")
    client = AuthenticatedClient(
        base_url=base,
        token=access_token(base, portal.id, portal.client_secret),
        raise_on_unexpected_status=True,
    )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/hookline"

    sub = create_subscription.sync(
        client=client,
        body=NewSubscription(
            url=url,
            event_types=["LotDispatched"],
            states=["AP"],
            include_own_events=True,
        ),
    )
    check(isinstance(sub, SubscriptionView), f"create subscription: {sub!r}")
    check(sub.url == url and isinstance(sub.secret, str), f"create subscription: {sub!r}")

    data = {"lot_id": "LOT-42", "quantity_kg": 1200}
    published = publish_events.sync(
        client=client,
        body=NewEvent(type_="LotDispatched", state="AP", data=data),
    )
    check(isinstance(published, PublishedView), f"publish: {published!r}")
    event = get_event.sync(client=client, id=published.id)
    check(event is not None and event.id == published.id, f"get event: {event!r}")

    check(Receiver.arrived.wait(TIMEOUT), "the receiver got nothing")
    headers, body = Receiver.received[0]
    headers = {k.lower(): v for k, v in headers.items()}
    check(verify(sub.secret, headers, body), "the delivery's signature does not verify")
    envelope = json.loads(body)
    check(
        envelope["id"] == published.id and envelope["type"] == "LotDispatched",
        f"delivered envelope: {envelope!r}",
    )
    check(envelope["data"] == data, f"delivered data: {envelope!r}")

    # The delivery's record catches up with the receiver's 204.
    deadline = time.monotonic() + TIMEOUT
    while True:
        page = list_deliveries.sync(client=client, event_id=published.id)
        check(isinstance(page, ListViewDeliveryView), f"list deliveries: {page!r}")
        statuses = [(d.subscription_id, d.status) for d in page.data]
        if statuses == [(sub.id, "succeeded")]:
            break
        check(time.monotonic() < deadline, f"deliveries never succeeded: {statuses}")
        time.sleep(0.2)
    server.shutdown()
    print(f"generated client: ok (event {published.id} delivered to {url})")


if __name__ == "__main__":
    main()
