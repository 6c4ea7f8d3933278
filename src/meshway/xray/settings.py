"""The daemon's command line, config file and environment → its settings.

Flags, config keys and defaults are aws-xray-daemon's (`cmd/tracing/daemon.go`, `pkg/cfg.yaml`;
reference/xray.md §1.4): UDP and TCP on 127.0.0.1:2000 unless `-b/--bind`, `-t/--bind-tcp`,
`Socket.UDPAddress`/`Socket.TCPAddress` or `AWS_XRAY_DAEMON_ADDRESS` (the SDKs' `host:port` or
`tcp:h:p udp:h:p`) say otherwise; flags win over the config file, which wins over the environment.
Meshway adds `--default-endpoint` (the server as the task reaches it, given by the runtime; the
config's `Endpoint` and `--endpoint` still win) and `--account` (signs as the task's account when
no AWS credentials are in the environment). Flags that only make sense on AWS (`-r`, `-a`, `-p`,
`-o`) are accepted and have nothing to do here.

Standard-library only: the config is the flat two-level YAML the daemon documents, read by a
small reader (PyYAML is not on the system interpreter).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

try:
    from meshway.xray import signing
except ImportError:  # the installed copy: the modules sit side by side
    import signing  # type: ignore[import-not-found,no-redef]

VERSION = "3.6.6-meshway"
DEFAULT_ADDRESS = ("127.0.0.1", 2000)
DEFAULT_REGION = "us-east-1"
MIN_BUFFER_MB = 3  # daemon.go: "--buffer-memory" below 3 MB is raised to 3
CONFIG_PATHS = ("/etc/amazon/xray/cfg.yaml", "cfg.yaml")
# The account's signature is checked only with `meshway server --require-auth`, where the task
# needs real keys in its environment anyway; this secret is never a credential.
ACCOUNT_SECRET = "meshway-task"  # noqa: S105


class SettingsError(ValueError):
    """Bad flags or config; str() is what the daemon logs before exiting."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    udp: tuple[str, int] = DEFAULT_ADDRESS
    tcp: tuple[str, int] = DEFAULT_ADDRESS
    endpoint: str
    region: str
    credentials: signing.Credentials | None = None
    concurrency: int = 8
    buffer_mb: int = 3  # -m / TotalBufferSizeMB; sizes the queue in front of the uploaders
    stats_interval: float = 60.0  # telemetry.go's dataCutoffIntervalSecs
    log_file: str = ""
    log_level: str = "info"


def parse_address(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{what}: {value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def daemon_address(value: str) -> dict[str, tuple[str, int]]:
    """AWS_XRAY_DAEMON_ADDRESS: `host:port` (both) or `tcp:h:p udp:h:p` (daemon_config.py)."""
    parts = value.split()
    if len(parts) == 1:
        both = parse_address(parts[0], "AWS_XRAY_DAEMON_ADDRESS")
        return {"udp": both, "tcp": both}
    found = {}
    for part in parts:
        kind, _, rest = part.partition(":")
        if kind.lower() not in ("tcp", "udp"):
            raise SettingsError(f"AWS_XRAY_DAEMON_ADDRESS: {value!r} is not 'tcp:H:P udp:H:P'")
        found[kind.lower()] = parse_address(rest, "AWS_XRAY_DAEMON_ADDRESS")
    return found


def read_config(text: str) -> dict[str, str]:
    """`Key: value` lines, one level of nesting by indentation → {"Socket.UDPAddress": ...}."""
    found: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip().strip("\"'")
        if line[0] in " \t":
            found[f"{section}.{key}"] = value
        elif value:
            found[key], section = value, ""
        else:
            section = key
    return found


def buffer_memory(asked: int) -> int:
    """MB of segment buffers: as asked, at least 3; unset, 1% of the host's memory, as the AWS
    daemon's `evaluateBufferMemory` does."""
    if asked:
        return max(MIN_BUFFER_MB, asked)
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return MIN_BUFFER_MB
    return max(MIN_BUFFER_MB, total // 100 // (1024 * 1024))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xray", description="the X-Ray daemon (Meshway)")
    add = p.add_argument
    add("-b", "--bind", help="UDP address, HOST:PORT")
    add("-t", "--bind-tcp", help="TCP address (sampling proxy), HOST:PORT")
    add("-n", "--region", help="region")
    add("-c", "--config", help="config file (YAML)")
    add("-m", "--buffer-memory", type=int, default=0, help="buffer memory in MB")
    add("-l", "--log-level", default="", help="dev, debug, info, warn, error, prod")
    add("-f", "--log-file", default="", help="log file (default: stderr)")
    add("-o", "--local-mode", action="store_true", help="no EC2 metadata (always, here)")
    add("-a", "--resource-arn", default="", help="resource ARN (unused)")
    add("-r", "--role-arn", default="", help="role to assume (unused)")
    add("-p", "--proxy-address", default="", help="outbound proxy (unused)")
    add("-v", "--version", action="version", version=f"AWS X-Ray daemon version: {VERSION}")
    add("--endpoint", default="", help="X-Ray endpoint URL")
    add("--default-endpoint", default="", help="endpoint when none is configured (Meshway)")
    add("--account", default="", help="sign as this account without credentials (Meshway)")
    add("--concurrency", type=int, default=0, help="uploader threads (default 8)")
    add("--stats-interval", type=float, default=60.0, help="seconds between counter lines")
    return p


def _config(path: str) -> dict[str, str]:
    candidates = [path] if path else list(CONFIG_PATHS)
    for candidate in candidates:
        try:
            return read_config(Path(candidate).read_text())
        except FileNotFoundError:
            if path:
                raise SettingsError(f"config file {path} not found") from None
        except (OSError, UnicodeDecodeError) as error:
            raise SettingsError(f"config file {candidate}: {error}") from None
    return {}


def _credentials(env: Mapping[str, str], account: str) -> signing.Credentials | None:
    key, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    if key and secret:
        return signing.Credentials(
            access_key=key, secret_key=secret, token=env.get("AWS_SESSION_TOKEN", "")
        )
    if account:
        return signing.Credentials(access_key=account, secret_key=ACCOUNT_SECRET)
    return None  # the proxy then forwards unsigned, as the AWS daemon does


def _addresses(
    args: argparse.Namespace, config: Mapping[str, str], env: Mapping[str, str]
) -> tuple[tuple[str, int], tuple[str, int]]:
    found = {"udp": DEFAULT_ADDRESS, "tcp": DEFAULT_ADDRESS}
    if env.get("AWS_XRAY_DAEMON_ADDRESS", "").strip():
        found.update(daemon_address(env["AWS_XRAY_DAEMON_ADDRESS"]))
    for kind, key in (("udp", "Socket.UDPAddress"), ("tcp", "Socket.TCPAddress")):
        if config.get(key):
            found[kind] = parse_address(config[key], key)
    if args.bind:
        found["udp"] = parse_address(args.bind, "--bind")
    if args.bind_tcp:
        found["tcp"] = parse_address(args.bind_tcp, "--bind-tcp")
    return found["udp"], found["tcp"]


def settings(argv: Sequence[str], env: Mapping[str, str]) -> Settings:
    args = parser().parse_args(argv)
    config = _config(args.config or "")
    udp, tcp = _addresses(args, config, env)
    region = (
        args.region or config.get("Region") or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    )  # fmt: skip
    endpoint = (
        args.endpoint or config.get("Endpoint") or args.default_endpoint
        or f"https://xray.{region}.amazonaws.com"
    )  # fmt: skip
    concurrency = args.concurrency or int(config.get("Concurrency") or 8)
    if not 1 <= concurrency <= 64:
        raise SettingsError(f"concurrency {concurrency} is outside 1..64")
    return Settings(
        udp=udp,
        tcp=tcp,
        endpoint=endpoint,
        region=region,
        credentials=_credentials(env, args.account),
        concurrency=concurrency,
        buffer_mb=buffer_memory(args.buffer_memory or int(config.get("TotalBufferSizeMB") or 0)),
        stats_interval=max(0.1, args.stats_interval),
        log_file=args.log_file or config.get("Logging.LogPath", ""),
        log_level=(args.log_level or config.get("Logging.LogLevel") or "info").lower(),
    )
