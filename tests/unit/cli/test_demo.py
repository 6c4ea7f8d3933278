"""The demo's pure parts: its task definitions have the seed's shape, its images run the
package's programs with the system Python from a folder any uid can read, and the status table
puts weights next to what the front app got."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from meshway.cli import demo

SEED_XRAY = Path(__file__).parents[2] / "data" / "seed" / "appmesh-task-definition-xray.json"


def test_every_demo_task_definition_has_the_seeds_xray_shape() -> None:
    seed = json.loads(SEED_XRAY.read_text())
    seed_app, seed_envoy, seed_daemon = seed["containerDefinitions"]
    for service in demo.resources()["services"]:
        definition = demo.task_definition("demo", service)
        app, envoy, daemon = definition["containerDefinitions"]
        assert definition["proxyConfiguration"] == seed["proxyConfiguration"]
        assert definition["networkMode"] == "awsvpc"
        assert app["dependsOn"] == seed_app["dependsOn"]
        assert envoy["image"] == seed_envoy["image"] and envoy["user"] == "1337"
        assert envoy["healthCheck"] == seed_envoy["healthCheck"]
        assert envoy["environment"] == [
            {
                "name": "APPMESH_VIRTUAL_NODE_NAME",
                "value": f"mesh/demo/virtualNode/{service['name']}",
            },
            {"name": "ENABLE_ENVOY_XRAY_TRACING", "value": "1"},
        ]
        assert daemon == seed_daemon


def test_the_programs_are_installed_readable_by_any_uid(tmp_path: Path) -> None:
    # Under pytest's 0700 base folder the data dir is unreachable: the fallback folder is used.
    folder = demo.install_programs(tmp_path / "data", system_dir=tmp_path / "system")
    for name in ("colorteller.py", "front.py"):
        mode = (folder / name).stat().st_mode
        assert mode & stat.S_IROTH and (folder / name).read_bytes()
    assert folder.stat().st_mode & stat.S_IXOTH
    assert folder in (tmp_path / "data" / "demo", tmp_path / "system")
    images = demo.images(folder)
    assert images["meshway-demo/front"].entry_point == (
        "/usr/bin/python3",
        "-u",
        str(folder / "front.py"),
    )


def test_the_status_table_puts_each_colors_weight_next_to_its_share() -> None:
    report = {
        "weights": {"blue": 75, "red": 25},
        "front": {
            "total": 200,
            "failures": 1,
            "colors": {"blue": 150, "red": 50},
            "recent": {"blue": 10, "red": 90},
        },
    }
    lines = demo.render(report).splitlines()
    assert lines[0] == "front → colorteller.demo.local: 200 answers, 1 failed"
    assert lines[1].split() == ["blue", "weight", "75.0%", "got", "75.0%", "(150)", "last",
                                "100:", "10.0%"]  # fmt: skip
    assert "not running yet" in demo.render({"weights": {}, "front": None})
