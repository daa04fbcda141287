#!/usr/bin/env python3
"""A webhook receiver for trying Hookline locally.

Verifies every request with the Standard Webhooks reference library
(`pip install standardwebhooks`) and prints the verified event.

    WEBHOOK_SECRET=whsec_... python3 infra/local/receiver.py [PORT]
"""
import http.server
import json
import os
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = os.environ.get("WEBHOOK_SECRET")
if not SECRET:
    sys.exit("set WEBHOOK_SECRET to the subscription's whsec_ secret")
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
WEBHOOK = Webhook(SECRET)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            event = WEBHOOK.verify(body, dict(self.headers))
        except WebhookVerificationError as e:
            print(f"REJECTED ({e})", flush=True)
            self.send_response(400)
            self.end_headers()
            return
        attempt = self.headers.get("hookline-attempt")
        print(f"verified {event['type']} {event['id']} (attempt {attempt}):", json.dumps(event["data"]), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


print(f"listening on http://127.0.0.1:{PORT}/hook", flush=True)
http.server.HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
