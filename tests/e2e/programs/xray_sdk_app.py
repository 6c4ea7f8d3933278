"""An app instrumented with aws-xray-sdk, for the X-Ray tests. It runs under /usr/bin/python3
with the SDK, Flask and their dependencies on PYTHONPATH (the test puts a copy there).

The SDK as its documentation sets it up: Flask with the SDK's `XRayMiddleware`, so a request's
segment continues the trace of its X-Amzn-Trace-Id header (the parent is the task's Envoy's
ingress segment), and `patch(["requests"])`, so each call made with requests is a `remote`
subsegment whose id goes on as the Parent of the call's trace header (the task's Envoy's egress
segment hangs under it). Not `patch(["requests"])`: that one puts the header on only when the call
is made inside an open subsegment (`ext/httplib/patch.py` `_send_request` reads
`current_subsegment()` before opening its own), so a plain urllib call from a request handler
would start a new trace at the Envoy. Segments go to the daemon at 127.0.0.1:2000 (UDP), the
SDK's default.

- APP_PORT (9080, an AppPort: reached through the task's Envoy): GET /<path> calls
  UPSTREAM + path and answers with its status.
- ADMIN_PORT (9081, not an AppPort: the host reaches it directly, as a health check does):
  GET /health arrives with no trace header, so the SDK's centralized sampler decides; the first
  decision starts its pollers (GetSamplingRules at once, SamplingTargets every 10 s, both to the
  daemon's TCP proxy on 127.0.0.1:2000). GET /sampling (not traced) → the rules the sampler
  holds, when they came, the reservoir targets the service gave and each rule's decisions not
  yet reported.
"""

import json
import os
import threading

import requests
from aws_xray_sdk.core import patch, xray_recorder
from aws_xray_sdk.ext.flask.middleware import XRayMiddleware
from flask import Flask, Response
from werkzeug.serving import make_server

NAME = os.environ.get("APP_NAME", "sdk-app")
UPSTREAM = os.environ.get("UPSTREAM", "")

xray_recorder.configure(service=NAME, sampling=True, context_missing="LOG_ERROR")
patch(["requests"])

app = Flask(NAME)
XRayMiddleware(app, xray_recorder)


@app.route("/health")
def health():
    return {"app": NAME}


def sampling_state():
    cache = xray_recorder.sampler._cache  # what the pollers loaded; the SDK has no public view
    rules = {
        rule.name: {
            "rate": rule.rate,
            "quota": rule.reservoir.quota,  # None until a SamplingTargets answer
            "ttl": rule.reservoir.TTL,
            "requests": rule.request_count,  # decisions not yet reported by SamplingTargets
        }
        for rule in cache.rules
    }
    return {"rules": rules, "fetched_at": cache.last_updated}


def admin(environ, start_response):
    """The admin port: /sampling past the middleware (looking must not be a sampling decision
    the test has to count), everything else to the app."""
    if environ.get("PATH_INFO") != "/sampling":
        return app(environ, start_response)
    body = json.dumps(sampling_state()).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


@app.route("/<path:path>")
def forward(path):
    answer = requests.get(f"{UPSTREAM}/{path}", timeout=10)
    return Response(answer.content, status=answer.status_code, content_type="application/json")


admin_server = make_server(
    "0.0.0.0", int(os.environ.get("ADMIN_PORT", "9081")), admin, threaded=True
)
threading.Thread(target=admin_server.serve_forever, daemon=True).start()
print(f"sdk app {NAME} on 9080 and 9081, upstream {UPSTREAM or 'none'}", flush=True)
make_server("0.0.0.0", int(os.environ.get("APP_PORT", "9080")), app, threaded=True).serve_forever()
