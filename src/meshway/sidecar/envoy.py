"""The sidecar agent: what `/usr/bin/agent` does in AWS's `aws-appmesh-envoy` image.

environment → bootstrap (`bootstrap.py`) → a JSON file in /tmp →
`envoy -c FILE --disable-hot-restart ...`, then it stays as the container's main process
(agent.go, reference/envoy.md §2):
- it polls Envoy every PID_POLL_INTERVAL_MS and restarts it after a crash, at most
  APPNET_ENVOY_RESTART_COUNT times, logging each exit; after that it exits with Envoy's code;
- on SIGTERM, SIGQUIT or SIGINT it drains: `POST /drain_listeners?graceful` on the admin port,
  waits until no downstream connection is left (or LISTENER_DRAIN_WAIT_TIME_S passes — App Mesh
  always waits the full time; with nothing left to drain that only delays the stop), then
  SIGTERM to Envoy and SIGKILL after 3 more seconds.

It runs as the container's user (1337) under the system interpreter, so it imports only the
standard library and `bootstrap.py` beside it (`install.py` puts both, and Envoy, where that user
can reach them). Run: `python3 -E -s agent.py --envoy PATH --xds HOST:PORT`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

try:
    from meshway.sidecar import bootstrap
except ImportError:  # the installed copy: bootstrap.py sits beside this file
    import bootstrap  # type: ignore[import-not-found,no-redef]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT)
KILL_GRACE = 3.0  # the agent's stop wait is drain + 3 s


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stderr.write(f"[{stamp}] [agent] {message}\n")
    sys.stderr.flush()


def _writable(path: str) -> bool:
    target = Path(path)
    return os.access(target if target.exists() else target.parent, os.W_OK)


def prepare(env: Mapping[str, str], default_xds: str, account: str = "") -> bootstrap.Settings:
    settings = bootstrap.settings_from_env(env, default_xds=default_xds, account=account)
    if not _writable(settings.admin_access_log):
        # Another user's file at the image's default path would stop Envoy from starting.
        log(f"cannot write {settings.admin_access_log}; admin access log goes to /dev/null")
        settings = _replace(settings, admin_access_log="/dev/null")
    if settings.outlier_event_log and not _writable(settings.outlier_event_log):
        # The container's stdout is a log file root opened; Envoy re-opens the path as 1337.
        log(f"cannot write {settings.outlier_event_log}; outlier ejection events are not logged")
        settings = _replace(settings, outlier_event_log="")
    return settings


def _replace(settings: bootstrap.Settings, **changes: Any) -> bootstrap.Settings:
    return dataclasses.replace(settings, **changes)


def write_sampling_rules(settings: bootstrap.Settings) -> tuple[bootstrap.Settings, str]:
    """XRAY_SAMPLING_RATE → a v2 manifest for Envoy's X-Ray tracer. The image writes
    /tmp/sampling-rules.json; here /tmp is shared by every task on the host, so each agent writes
    its own file (another task's rate, or a file another uid owns, must not leak in). Returns
    the settings naming it and its path ("" when none was needed)."""
    xray = settings.xray
    if xray is None or xray.sampling_rule_manifest or xray.sampling_rate in (None, 0.05):
        return settings, ""
    rules = bootstrap.xray_sampling_rules(xray.sampling_rate or 0.0)
    fd, path = tempfile.mkstemp(prefix="sampling-rules-", suffix=".json")
    with os.fdopen(fd, "w") as out:
        json.dump(rules, out)
    return _replace(settings, xray=dataclasses.replace(xray, sampling_rule_manifest=path)), path


def write_config(settings: bootstrap.Settings) -> str:
    fd, path = tempfile.mkstemp(prefix="envoy-config-", suffix=".json")
    with os.fdopen(fd, "w") as out:
        json.dump(bootstrap.bootstrap(settings), out, indent=1, sort_keys=True)
    return path


class Agent:
    def __init__(self, argv: Sequence[str], settings: bootstrap.Settings, poll: float) -> None:
        self.argv = list(argv)
        self.settings = settings
        self.poll = poll
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None

    def on_signal(self, signum: int, _frame: object) -> None:
        log(f"received {signal.Signals(signum).name}; draining")
        self.stopping.set()

    def run(self) -> int:
        restarts = 0
        while True:
            self.process = subprocess.Popen(self.argv)  # inherits the container's stdout/stderr
            log(f"envoy started (pid {self.process.pid})")
            code = self._wait()
            if self.stopping.is_set():
                return self._stop()
            log(f"envoy exited with {code}")
            if restarts >= self.settings.restart_count:
                log(f"envoy restarted {restarts} times; giving up")
                return 128 - code if code < 0 else code
            restarts += 1
            log(f"restarting envoy ({restarts} of {self.settings.restart_count})")

    def _wait(self) -> int:
        assert self.process is not None
        while not self.stopping.is_set():
            code = self.process.poll()
            if code is not None:
                return code
            self.stopping.wait(self.poll)
        return 0

    def _stop(self) -> int:
        process = self.process
        assert process is not None
        if process.poll() is None:
            self._drain()
            process.terminate()
            try:
                process.wait(KILL_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
        code = process.wait()
        log(f"envoy stopped ({code})")
        return 0

    def _admin(self, path: str, method: str = "GET") -> bytes:
        url = f"http://127.0.0.1:{self.settings.admin_port}{path}"
        request = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310
            return bytes(response.read())

    def _drain(self) -> None:
        try:
            self._admin("/drain_listeners?graceful", "POST")
        except OSError as error:
            log(f"drain request failed: {error}")
            return
        deadline = time.monotonic() + self.settings.drain_seconds
        while time.monotonic() < deadline and self._active_connections() > 0:
            time.sleep(0.1)

    def _active_connections(self) -> int:
        try:
            text = self._admin("/stats?filter=downstream_cx_active$").decode()
        except OSError:
            return 0
        total = 0
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if name.startswith("listener.") and not name.startswith("listener.admin"):
                total += int(value or 0) if value.strip().isdigit() else 0
        return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the aws-appmesh-envoy agent")
    parser.add_argument("--envoy", required=True, help="the Envoy binary")
    parser.add_argument("--xds", required=True, help="HOST:PORT of the default xDS server")
    parser.add_argument("--account", default="", help="the task's account (node metadata)")
    args = parser.parse_args(argv)
    try:
        settings = prepare(os.environ, args.xds, args.account)
    except bootstrap.BootstrapError as error:
        log(f"error: {error}")
        return 1
    os.environ.pop(bootstrap.CREDENTIAL_ENV, None)  # Envoy reads it from its bootstrap only
    settings, rules = write_sampling_rules(settings)
    path = write_config(settings)
    poll = bootstrap._integer(os.environ, "PID_POLL_INTERVAL_MS", 100, 100, 1000) / 1000
    agent = Agent(bootstrap.envoy_argv(args.envoy, path, settings), settings, poll)
    for signum in STOP_SIGNALS:
        signal.signal(signum, agent.on_signal)
    log(f"node {settings.node_id}; xDS {settings.xds_host}:{settings.xds_port}; config {path}")
    try:
        return agent.run()
    finally:
        Path(path).unlink(missing_ok=True)
        if rules:
            Path(rules).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
