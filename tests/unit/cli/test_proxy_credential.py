"""How a task's Envoy gets its xDS credential (issue 9): the Preparer adds it after the
container's own variables, it names the node the agent will present, and the bootstrap sends it
as gRPC initial metadata on the ADS stream without it ever showing in the settings' repr."""

from __future__ import annotations

from collections.abc import Mapping

from meshway.cli.controlplane import sidecar_node_key
from meshway.runtime.images import Catalog, Image
from meshway.runtime.launch import Preparer
from meshway.service.ecs import ClaimedTask
from meshway.sidecar import bootstrap
from meshway.xds import credentials
from meshway.xds.credentials import Credential, ProxyCredentials
from tests.unit.runtime.test_launch_envoy import TASK_ARN, agent, claimed, seed_envoy

NODE_ARN = "arn:aws:appmesh:us-west-2:111122223333:mesh/meshName/virtualNode/virtualNodeName"


def test_the_sidecar_agent_and_the_server_name_the_credential_alike() -> None:
    assert bootstrap.CREDENTIAL_ENV == credentials.ENVIRONMENT
    assert bootstrap.CREDENTIAL_HEADER == credentials.HEADER


def test_a_tasks_envoy_gets_a_credential_for_its_task_and_the_node_it_will_present() -> None:
    keys = ProxyCredentials.generate()

    def credential(task_arn: str, env: Mapping[str, str]) -> dict[str, str]:
        key = sidecar_node_key(env, account=task_arn.split(":")[4])
        assert key is not None
        return {credentials.ENVIRONMENT: keys.mint(subject=task_arn, node=key)}

    definition = seed_envoy()
    definition["environment"] = [
        *definition.get("environment", []),
        {"name": credentials.ENVIRONMENT, "value": "chosen-by-the-task"},
    ]
    launch = Preparer(Catalog(), agent, credential=credential)(claimed(), definition)
    token = launch.env[credentials.ENVIRONMENT]
    assert keys.verify(token) == Credential(subject=TASK_ARN, node=NODE_ARN)


def test_the_node_key_follows_the_environment_the_agent_reads() -> None:
    env = {"APPMESH_RESOURCE_ARN": "mesh/m/virtualGateway/gw", "AWS_REGION": "eu-west-1"}
    key = sidecar_node_key(env, account="444455556666")
    assert key == "arn:aws:appmesh:eu-west-1:444455556666:mesh/m/virtualGateway/gw"
    assert sidecar_node_key({}, account="444455556666") is None  # the agent would not start


def test_only_the_envoy_image_gets_a_credential() -> None:
    called: list[str] = []

    def credential(task_arn: str, env: Mapping[str, str]) -> dict[str, str]:
        called.append(task_arn)
        return {credentials.ENVIRONMENT: "x"}

    app = {"name": "app", "image": "app:1", "command": ["true"]}
    catalog = Catalog({"app:1": Image(reference="app:1", entry_point=("/bin/sh",))})
    launch = Preparer(catalog, agent, credential=credential)(
        ClaimedTask(task={"taskArn": TASK_ARN}, task_definition={}), app
    )
    assert credentials.ENVIRONMENT not in launch.env and called == []


def test_the_bootstrap_sends_the_credential_as_ads_initial_metadata() -> None:
    env = {"APPMESH_RESOURCE_ARN": "mesh/m/virtualNode/n", credentials.ENVIRONMENT: "mw1.a.b"}
    settings = bootstrap.settings_from_env(env, default_xds="198.18.0.1:15010")
    [service] = bootstrap.bootstrap(settings)["dynamic_resources"]["ads_config"]["grpc_services"]
    assert service["initial_metadata"] == [{"key": credentials.HEADER, "value": "mw1.a.b"}]
    assert "mw1.a.b" not in repr(settings)
    without = bootstrap.settings_from_env(
        {"APPMESH_RESOURCE_ARN": "mesh/m/virtualNode/n"}, default_xds="198.18.0.1:15010"
    )
    ads = bootstrap.bootstrap(without)["dynamic_resources"]["ads_config"]
    assert "initial_metadata" not in ads["grpc_services"][0]
