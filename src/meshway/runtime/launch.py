"""A container definition (plus RunTask's overrides) → the process to run, as ECS and Docker
decide it: the image's config from the catalog, Docker's entryPoint/command/env merge, the
variables the ECS agent injects, and ulimits. Pure apart from nothing: the catalog is loaded once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from meshway.runtime import images
from meshway.runtime.host import Launch
from meshway.runtime.supervisor import LaunchError
from meshway.service.ecs import ClaimedTask


def _pairs(items: Any) -> dict[str, str]:
    return {str(i["name"]): str(i.get("value", "")) for i in items or ()}


def _override(task: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for item in (task.get("overrides") or {}).get("containerOverrides") or ():
        if item.get("name") == name:
            return item  # type: ignore[no-any-return]
    return {}


def task_id_of(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def hostname_for(task_id: str) -> str:
    """The task's hostname (its own name in its hosts file, and $HOSTNAME)."""
    return f"ip-{task_id[:8]}"


def _region(task_arn: str) -> str:
    return task_arn.split(":")[3]


def ecs_environment(task: Mapping[str, Any]) -> dict[str, str]:
    """What the agent sets in every container that Meshway can honestly provide (no metadata
    endpoint is served, so ECS_CONTAINER_METADATA_URI is not claimed)."""
    region = _region(str(task["taskArn"]))
    return {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_EXECUTION_ENV": "AWS_ECS_EC2"}


def rlimits(definition: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    return {
        str(u["name"]): (int(u["softLimit"]), int(u["hardLimit"]))
        for u in definition.get("ulimits") or ()
    }


# The built-in Envoy image's program for a task: the sidecar agent's argv, given the task's
# account (cli/server.py makes it from sidecar.install once the xDS server listens).
EnvoyProgram = Callable[[str], Sequence[str]]
# The built-in X-Ray daemon image's program for a task, given the task's account: the daemon's
# argv with the image's own arguments (cli/tracing.py makes it from xray.install).
XrayProgram = Callable[[str], Sequence[str]]
# The variables that give a task's Envoy sidecar its xDS credential (issue 9), given the task's
# ARN and the container's environment (which names the node); cli/controlplane.py mints them.
EnvoyCredential = Callable[[str, Mapping[str, str]], Mapping[str, str]]


class Preparer:
    """Turns a claimed task's container definitions into `Launch`es with one image catalog.

    `envoy` runs the built-in `aws-appmesh-envoy` image (the container's own entryPoint and
    command are ignored: the image is the agent, as AWS's is) and `xray` the built-in
    `aws-xray-daemon` image (its command adds daemon flags); a catalog entry for either image
    still wins, so tests can run a stand-in. `credential` adds the built-in Envoy's xDS
    credential to its environment, after the container's own (a task cannot choose it)."""

    def __init__(
        self,
        catalog: images.Catalog,
        envoy: EnvoyProgram | None = None,
        xray: XrayProgram | None = None,
        credential: EnvoyCredential | None = None,
    ) -> None:
        self.catalog = catalog
        self.envoy = envoy
        self.xray = xray
        self.credential = credential

    def __call__(self, claimed: ClaimedTask, definition: Mapping[str, Any]) -> Launch:
        task = claimed.task
        name = str(definition["name"])
        override = _override(task, name)
        try:
            image = self.catalog.lookup(str(definition["image"]))
        except images.UnknownImage as error:
            raise LaunchError(f"CannotPullContainerError: {error}") from error
        if image.kind is images.ImageKind.ENVOY and self.envoy is not None:
            account = str(task["taskArn"]).split(":")[4]
            image = replace(image, entry_point=tuple(self.envoy(account)))
            definition = {k: v for k, v in definition.items() if k not in ("entryPoint", "command")}
            override = {k: v for k, v in override.items() if k != "command"}
        elif image.kind is images.ImageKind.XRAY_DAEMON and self.xray is not None:
            # As Docker runs the AWS image: its entry point, then the container's command as
            # more flags (`["-o", "-n", "us-west-2"]`); a container entryPoint is ignored.
            account = str(task["taskArn"]).split(":")[4]
            image = replace(image, entry_point=tuple(self.xray(account)))
            definition = {k: v for k, v in definition.items() if k != "entryPoint"}
        elif image.kind is not images.ImageKind.PROGRAM:
            raise LaunchError(
                f"CannotStartContainerError: the built-in {image.kind.value} image is not "
                "available in this Meshway version; map it to a program with --images"
            )
        environment = {
            **ecs_environment(task),
            "HOSTNAME": hostname_for(task_id_of(str(task["taskArn"]))),
            **_pairs(definition.get("environment")),
            **_pairs(override.get("environment")),
        }
        if image.kind is images.ImageKind.ENVOY and self.envoy and self.credential:
            environment.update(self.credential(str(task["taskArn"]), environment))
        try:
            resolved = images.resolve(
                image,
                entry_point=definition.get("entryPoint"),
                command=override.get("command") or definition.get("command"),
                working_directory=definition.get("workingDirectory"),
                environment=environment,
            )
        except images.NoCommandError as error:
            raise LaunchError(f"CannotCreateContainerError: {error}") from error
        return Launch(
            task_id=task_id_of(str(task["taskArn"])),
            container=name,
            argv=resolved.argv,
            env=resolved.environment,
            cwd=resolved.working_directory,
            user=definition.get("user"),
            rlimits=rlimits(definition),
        )
