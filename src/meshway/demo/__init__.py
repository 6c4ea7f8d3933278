"""The getting-started demo's files: the mesh and ECS resources (`mesh.yaml`) and the programs
its images run (`colorteller.py`, `front.py`; stdlib only, run by /usr/bin/python3 inside tasks).

`meshway server --demo` applies them through its own API (cli/demo.py); nothing imports the
programs.
"""

from pathlib import Path

FOLDER = Path(__file__).parent
RESOURCES = FOLDER / "mesh.yaml"
PROGRAMS = ("colorteller.py", "front.py")
