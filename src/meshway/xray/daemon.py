"""The X-Ray daemon: what the `amazon/aws-xray-daemon` image runs, inside the task.

UDP (default 127.0.0.1:2000, as the built-in image binds it) → `framing` checks each datagram →
`batching` groups documents by 50 or 1 s → uploader threads call PutTraceSegments on the X-Ray
endpoint (Meshway's server, by default as the task reaches it on the bridge) → counters, logged
every `--stats-interval` seconds and on exit. The TCP address serves the sampling proxy
(`proxy.py`). SIGTERM or SIGINT: stop reading, send what is batched, log the counters, exit 0.
Pipeline facts: reference/xray.md §1.4.

It runs as the container's user (the seed's 1337) under the system interpreter, so it imports
only the standard library and its sibling modules (`install.py` copies them side by side).
Run: `python3 -E -s daemon.py [the AWS daemon's flags] [--default-endpoint URL --account ID]`.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

try:
    from meshway.xray import batching, framing, proxy, settings, uplink
except ImportError:  # the installed copy: the modules sit side by side
    import batching  # type: ignore[import-not-found,no-redef]
    import framing  # type: ignore[import-not-found,no-redef]
    import proxy  # type: ignore[import-not-found,no-redef]
    import settings  # type: ignore[import-not-found,no-redef]
    import uplink  # type: ignore[import-not-found,no-redef]

RECEIVE_BUFFER = 4 * 1024 * 1024  # asked for; the kernel caps it at net.core.rmem_max
TICK = 0.05  # how often the idle-batch rule is checked
STOP_GRACE = 5.0  # seconds the uploaders get to send what is queued at exit
UNPROCESSED_LOGGED = 5  # per batch, so a flood of refusals cannot drown the log


class Log:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.Lock()

    def __call__(self, message: str, level: str = "Info") -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.lock:
            self.out.write(f"{stamp} [{level}] {message}\n")
            self.out.flush()


def open_udp(address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind(address)
    sock.settimeout(0.2)  # wakes to notice a stop
    return sock


class Daemon:
    def __init__(self, config: settings.Settings, log: Callable[..., None]) -> None:
        self.config = config
        self.log = log
        self.counters = batching.Counters()
        capacity = batching.queue_capacity(config.buffer_mb)
        self.queue = batching.BatchQueue(self.counters, capacity)
        self.batcher = batching.Batcher(self.queue.put, time.monotonic)
        self.stopping = threading.Event()
        self.udp = open_udp(config.udp)
        self.proxy = proxy.SamplingProxy(config.tcp, self.make_uplink, log)
        self._threads: list[threading.Thread] = []

    def make_uplink(self) -> uplink.Uplink:
        c = self.config
        return uplink.Uplink(c.endpoint, c.region, c.credentials)

    # -- receiving ------------------------------------------------------------------------------

    def receive(self) -> None:
        reader, parse, counters = self.udp.recv, framing.parse_datagram, self.counters
        add, rejection = self.batcher.add, framing.Rejection
        while not self.stopping.is_set():
            try:
                data = reader(framing.MAX_DATAGRAM + 1)  # one byte more shows an oversize one
            except TimeoutError:
                continue
            except OSError:
                return  # closed at stop
            found = parse(data)
            if isinstance(found, rejection):
                counters.reject(found.value)
            else:
                counters.add("received")
                add(found.body)

    def tick(self) -> None:
        next_stats = time.monotonic() + self.config.stats_interval
        while not self.stopping.wait(TICK):
            self.batcher.tick()
            if time.monotonic() >= next_stats:
                self.log(f"counters: {self.counters.line()}")
                next_stats += self.config.stats_interval

    # -- sending --------------------------------------------------------------------------------

    def upload(self) -> None:
        link = self.make_uplink()
        try:
            while (batch := self.queue.get()) is not None:
                self._send(link, batch)
        finally:
            link.close()

    def _send(self, link: uplink.Uplink, batch: list[str]) -> None:
        try:
            refused = link.put_trace_segments(batch)
        except (OSError, ValueError, http.client.HTTPException) as error:
            self.counters.add("backend_errors")
            self.counters.add("dropped", len(batch))
            self.log(f"PutTraceSegments failed, {len(batch)} segments dropped: {error}", "Error")
            return
        self.counters.add("sent", len(batch) - len(refused))
        if refused:
            self.counters.add("unprocessed", len(refused))
        for item in refused[:UNPROCESSED_LOGGED]:
            self.log(f"Unprocessed segment {item.id}: {item.error_code} {item.message}", "Warn")

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.proxy.start()
        jobs = [("xray-receive", self.receive), ("xray-tick", self.tick)]
        jobs += [(f"xray-upload-{i}", self.upload) for i in range(self.config.concurrency)]
        for name, job in jobs:
            thread = threading.Thread(target=job, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        buffer = self.udp.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self.log(
            f"Initializing AWS X-Ray daemon {settings.VERSION}; UDP {_at(self.config.udp)} "
            f"(receive buffer {buffer} B), {self.config.buffer_mb} MB of segment buffers, "
            f"TCP proxy {_at(self.proxy.address)}, "
            f"endpoint {self.config.endpoint} ({self.config.region})"
        )

    def stop(self) -> None:
        """Stop reading (the receiver finishes the datagram in hand), send what is batched,
        give the uploaders STOP_GRACE seconds, count what is still queued as dropped."""
        self.stopping.set()
        receiver, *others = self._threads
        receiver.join()
        self.udp.close()
        self.proxy.stop()
        self.batcher.flush()
        self.queue.close()
        deadline = time.monotonic() + STOP_GRACE
        for thread in others:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = self.queue.discard()
        if left:
            self.counters.add("dropped", left)
        self.log(f"counters at exit: {self.counters.line()}")


def _at(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def _log_target(path: str) -> TextIO:
    if not path:
        return sys.stderr
    return open(path, "a", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    log = Log(sys.stderr)
    try:
        config = settings.settings(list(sys.argv[1:] if argv is None else argv), os.environ)
        log = Log(_log_target(config.log_file))
        daemon = Daemon(config, log)
    except (settings.SettingsError, ValueError, OSError) as error:
        log(f"cannot start: {error}", "Error")
        return 1
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    daemon.start()
    while not done.wait(1.0):
        pass
    log("Shutdown initiated")
    daemon.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
