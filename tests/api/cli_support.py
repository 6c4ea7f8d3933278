"""Running the `meshway` command against a test server, as a person would from a shell."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REGION, ServerProcess


def meshway(server: ServerProcess, account: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`meshway ARGS --endpoint-url URL` signed as `account` (a 12-digit key is the account)."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": REGION,
        "COLUMNS": "320",
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "meshway", *args, "--endpoint-url", server.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
