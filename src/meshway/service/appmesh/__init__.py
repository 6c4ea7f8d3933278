"""App Mesh (2019-01-25): the resources, their versions, references and tags."""

from meshway.service.appmesh.operations import AppMeshService

__all__ = ["AppMeshService"]
