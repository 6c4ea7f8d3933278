"""The daemon's flags, config file and environment, with the AWS daemon's names and defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshway.xray.settings import (
    ACCOUNT_SECRET,
    SettingsError,
    daemon_address,
    read_config,
    settings,
)

NO_CONFIG = ["-c", "/dev/null"]  # never read /etc/amazon/xray/cfg.yaml of the test machine


def test_without_flags_it_listens_on_loopback_2000_and_sends_to_aws() -> None:
    found = settings(NO_CONFIG, {})
    assert found.udp == found.tcp == ("127.0.0.1", 2000)
    assert (found.endpoint, found.region) == ("https://xray.us-east-1.amazonaws.com", "us-east-1")
    assert found.credentials is None and found.concurrency == 8


def test_the_images_bind_flags_and_meshways_endpoint_and_account_apply() -> None:
    image = ["-t", "0.0.0.0:2000", "-b", "0.0.0.0:2000"]
    argv = [*NO_CONFIG, *image, "--default-endpoint", "http://198.18.0.1:7700"]
    argv += ["--account", "111122223333"]
    found = settings(argv, {"AWS_REGION": "us-west-2"})
    assert found.udp == found.tcp == ("0.0.0.0", 2000)
    assert (found.endpoint, found.region) == ("http://198.18.0.1:7700", "us-west-2")
    assert found.credentials is not None
    assert (found.credentials.access_key, found.credentials.secret_key) == (
        "111122223333",
        ACCOUNT_SECRET,
    )


def test_credentials_in_the_environment_win_over_the_account() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    found = settings([*NO_CONFIG, "--account", "111122223333"], env)
    assert found.credentials is not None
    assert (found.credentials.access_key, found.credentials.token) == ("AKID", "t")


def test_the_config_file_is_read_and_flags_win_over_it(tmp_path: Path) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text(
        "# the daemon's documented layout\n"
        'Version: 2\nRegion: "eu-west-1"\nEndpoint: "http://127.0.0.1:7700"\n'
        'Concurrency: 4\nSocket:\n  UDPAddress: "127.0.0.1:3000"  # UDP\n'
        '  TCPAddress: "127.0.0.1:3001"\nLogging:\n  LogLevel: "Debug"\nLocalMode: true\n'
    )
    found = settings(["-c", str(config), "--default-endpoint", "http://ignored"], {})
    assert (found.udp, found.tcp) == (("127.0.0.1", 3000), ("127.0.0.1", 3001))
    assert (found.region, found.endpoint, found.concurrency) == (
        "eu-west-1",
        "http://127.0.0.1:7700",
        4,
    )
    assert found.log_level == "debug"
    flagged = settings(["-c", str(config), "-b", "127.0.0.1:4000", "-n", "ap-south-1"], {})
    assert (flagged.udp, flagged.region) == (("127.0.0.1", 4000), "ap-south-1")


def test_aws_xray_daemon_address_sets_the_addresses_below_flags_and_config() -> None:
    assert settings(NO_CONFIG, {"AWS_XRAY_DAEMON_ADDRESS": "0.0.0.0:2100"}).udp == (
        "0.0.0.0",
        2100,
    )
    assert daemon_address("tcp:127.0.0.1:2001 udp:127.0.0.2:2002") == {
        "tcp": ("127.0.0.1", 2001),
        "udp": ("127.0.0.2", 2002),
    }
    env = {"AWS_XRAY_DAEMON_ADDRESS": "0.0.0.0:2100"}
    assert settings([*NO_CONFIG, "-b", "127.0.0.1:2200"], env).udp == ("127.0.0.1", 2200)


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["-b", "nowhere"], {}),
        (["-t", "127.0.0.1:99999"], {}),
        ([], {"AWS_XRAY_DAEMON_ADDRESS": "http:1.2.3.4:2000 udp:1.2.3.4:2000"}),
        (["--concurrency", "100"], {}),
        (["-c", "/does/not/exist.yaml"], {}),
    ],
)
def test_bad_settings_stop_the_daemon_with_a_reason(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        settings([*NO_CONFIG, *argv] if "-c" not in argv else argv, env)


def test_the_config_reader_nests_one_level_and_drops_comments() -> None:
    assert read_config("A: 1\nB:\n  C: 'x'\n  # note\nD: y # trailing\n") == {
        "A": "1",
        "B.C": "x",
        "D": "y",
    }


def test_buffer_memory_is_as_asked_at_least_3_mb_and_else_1_percent_of_memory() -> None:
    assert settings([*NO_CONFIG, "-m", "1"], {}).buffer_mb == 3
    assert settings([*NO_CONFIG, "-m", "64"], {}).buffer_mb == 64
    assert settings(NO_CONFIG, {}).buffer_mb >= 3
