"""App Mesh semantics: create, describe, update, delete and list for the seven kinds, and tags.

Each operation is one store transaction: parents must exist (NotFoundException), names are unique
(ConflictException), quotas hold (LimitExceededException), specs follow the documented rules
(BadRequestException, `model.appmesh.rules`), referenced resources exist and are protected from
deletion (ResourceInUseException), versions start at 1 and grow by one per update, and a
`clientToken` replays the first answer or conflicts when reused with different input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from meshway.core.clock import Clock
from meshway.core.context import RequestContext
from meshway.core.errors import (
    BadRequestException,
    ConflictException,
    ForbiddenException,
    LimitExceededException,
    NotFoundException,
    ResourceInUseException,
    TooManyTagsException,
)
from meshway.core.ids import IdFactory
from meshway.model.appmesh.kinds import KINDS, KindName, ResourceId, parse_arn
from meshway.model.appmesh.refs import references
from meshway.model.appmesh.rules import check_router_routes, check_spec, with_defaults
from meshway.service.appmesh import repository as repo
from meshway.service.appmesh.pagination import DEFAULT_LIMIT, decode_token, encode_token
from meshway.store.base import Store, Transaction, iter_all

MAX_TAGS = 50

# What must be gone before each kind can be deleted: kinds listed under it.
_CHILD_KINDS: dict[KindName, tuple[KindName, ...]] = {
    KindName.MESH: (
        KindName.VIRTUAL_SERVICE,
        KindName.VIRTUAL_ROUTER,
        KindName.VIRTUAL_NODE,
        KindName.VIRTUAL_GATEWAY,
    ),
    KindName.VIRTUAL_ROUTER: (KindName.ROUTE,),
    KindName.VIRTUAL_GATEWAY: (KindName.GATEWAY_ROUTE,),
}

Output = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClientToken:
    """A request's `clientToken`: where its first answer is kept, and what the input was."""

    value: str | None
    scope: str
    fingerprint: str

    @staticmethod
    def of(
        action: str,
        rid: ResourceId,
        token: str | None,
        spec: Mapping[str, Any],
        tags: list[dict[str, str]] | None,
    ) -> ClientToken:
        digest = hashlib.sha256(orjson.dumps([spec, tags], option=orjson.OPT_SORT_KEYS))
        return ClientToken(token, f"appmesh:{action}:{rid.arn()}:{token}", digest.hexdigest())


class AppMeshCore:
    """The generic engine; `operations.AppMeshService` names it in the API's words."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        ids: IdFactory,
        quotas: Mapping[KindName, int] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        self._quotas = {kind: spec.quota for kind, spec in KINDS.items()} | dict(quotas or {})

    # -- identities -------------------------------------------------------------------------

    @staticmethod
    def _rid(
        ctx: RequestContext,
        kind: KindName,
        mesh: str,
        name: str = "",
        *,
        parent: str = "",
        owner: str | None = None,
    ) -> ResourceId:
        """The resource a request names. Meshway has no resource sharing (AWS RAM), so another
        account's mesh is out of reach; `/` would make ARNs ambiguous (mesh `a/virtualNode/b`
        against node `b` of mesh `a`), so names may not hold it."""
        if owner is not None and owner != ctx.account:
            raise ForbiddenException(
                f"Mesh '{mesh}' of account {owner} is not shared with account {ctx.account}."
            )
        for value in (mesh, parent, name):
            if "/" in value:
                raise BadRequestException(f"The name '{value}' must not contain '/'.")
        return ResourceId(
            kind=kind,
            account=ctx.account,
            region=ctx.region,
            mesh=mesh,
            parent_name=parent,
            name=name,
        )

    # -- the generic operations ----------------------------------------------------------

    def _create(
        self,
        ctx: RequestContext,
        rid: ResourceId,
        spec: Mapping[str, Any] | None,
        tags: list[dict[str, str]] | None,
        token: str | None,
    ) -> Output:
        kind = KINDS[rid.kind]
        stored_spec = with_defaults(rid.kind, spec)
        with self._store.transaction() as tx:
            idem = ClientToken.of("create", rid, token, stored_spec, tags)
            replay = self._replay(tx, idem)
            if replay is not None:
                return replay
            self._check_parent(tx, rid)
            if repo.load(tx, rid) is not None:
                raise ConflictException(f"{repo.describe_name(rid)} already exists.")
            self._check_quota(tx, rid)
            self._check_spec(tx, rid, stored_spec)
            now = self._clock.now()
            metadata = {
                "arn": rid.arn(),
                "createdAt": now,
                "lastUpdatedAt": now,
                "meshOwner": rid.account,
                "resourceOwner": ctx.account,
                "uid": self._ids.uuid(),
                "version": 1,
            }
            data = self._data(rid, metadata, stored_spec, "ACTIVE")
            repo.save(tx, rid, data, list(tags or []))
            repo.set_references(tx, rid, self._targets(rid, stored_spec))
            output = {kind.name.value: data}
            self._remember(tx, idem, output)
        return output

    def _describe(self, rid: ResourceId) -> Output:
        with self._store.read() as tx:
            record = repo.require(tx, rid)
        return {KINDS[rid.kind].name.value: record.body["data"]}

    def _update(self, rid: ResourceId, spec: Mapping[str, Any] | None, token: str | None) -> Output:
        kind = KINDS[rid.kind]
        stored_spec = with_defaults(rid.kind, spec)
        with self._store.transaction() as tx:
            idem = ClientToken.of("update", rid, token, stored_spec, None)
            replay = self._replay(tx, idem)
            if replay is not None:
                return replay
            record = repo.require(tx, rid)
            self._check_spec(tx, rid, stored_spec)
            old = record.body["data"]
            metadata = dict(old["metadata"])
            metadata["version"] = int(metadata["version"]) + 1
            metadata["lastUpdatedAt"] = self._clock.now()
            data = self._data(rid, metadata, stored_spec, "ACTIVE")
            repo.save(tx, rid, data, list(record.body.get("tags", [])))
            repo.set_references(tx, rid, self._targets(rid, stored_spec))
            output = {kind.name.value: data}
            self._remember(tx, idem, output)
        return output

    def _delete(self, rid: ResourceId) -> Output:
        kind = KINDS[rid.kind]
        with self._store.transaction() as tx:
            record = repo.require(tx, rid)
            self._check_unused(tx, rid)
            repo.remove(tx, rid)
        data = dict(record.body["data"])
        data["status"] = {"status": "DELETED"}
        return {kind.name.value: data}

    def _list(
        self,
        parent: ResourceId | None,
        kind_name: KindName,
        scope: str | None,
        limit: int | None,
        token: str | None,
    ) -> Output:
        kind = KINDS[kind_name]
        after = decode_token(token)
        with self._store.read() as tx:
            if parent is not None:
                repo.require(tx, parent)
                scope = parent.arn()
            page = tx.list(kind.store_kind, scope, after_seq=after, limit=limit or DEFAULT_LIMIT)
        refs = [self._ref(record.body["data"]) for record in page.records]
        return {kind.list_member: refs, "nextToken": encode_token(page.next_seq)}

    # -- rules ---------------------------------------------------------------------------

    def _check_parent(self, tx: Transaction, rid: ResourceId) -> None:
        parent = rid.parent()
        if parent is None:
            return
        if parent.kind is not KindName.MESH:
            repo.require(tx, parent.parent() or parent)  # the mesh first, as AWS reports it
        repo.require(tx, parent)

    def _check_quota(self, tx: Transaction, rid: ResourceId) -> None:
        limit = self._quotas.get(rid.kind)
        if limit is None:
            return
        if tx.count(KINDS[rid.kind].store_kind, repo.parent_key(rid)) >= limit:
            where = (
                "account" if rid.kind is KindName.MESH else repo.describe_name(rid.parent() or rid)
            )
            raise LimitExceededException(
                f"The maximum number of {KINDS[rid.kind].title} resources ({limit}) for "
                f"{where} has been reached."
            )

    def _check_spec(self, tx: Transaction, rid: ResourceId, spec: Mapping[str, Any]) -> None:
        parent = rid.parent()
        parent_spec = None
        if parent is not None and parent.kind is not KindName.MESH:
            parent_spec = repo.require(tx, parent).body["data"]["spec"]
        check_spec(
            rid.kind,
            spec,
            router_spec=parent_spec if rid.kind is KindName.ROUTE else None,
            gateway_spec=parent_spec if rid.kind is KindName.GATEWAY_ROUTE else None,
        )
        if rid.kind is KindName.VIRTUAL_ROUTER:  # its routes must fit its new listeners
            routes = iter_all(tx, KINDS[KindName.ROUTE].store_kind, rid.arn())
            check_router_routes(spec, {r.name: r.body["data"]["spec"] for r in routes})
        for target in self._targets(rid, spec):
            if repo.load(tx, target) is None:
                raise NotFoundException(f"{repo.describe_name(target)} does not exist.")

    def _check_unused(self, tx: Transaction, rid: ResourceId) -> None:
        for child in _CHILD_KINDS.get(rid.kind, ()):
            if tx.count(KINDS[child].store_kind, rid.arn()):
                raise ResourceInUseException(
                    f"{repo.describe_name(rid)} has {KINDS[child].title} resources; "
                    "delete them first."
                )
        users = repo.referrers(tx, rid)
        if users:
            raise ResourceInUseException(f"{repo.describe_name(rid)} is in use by {users[0]}.")

    @staticmethod
    def _targets(rid: ResourceId, spec: Mapping[str, Any]) -> list[ResourceId]:
        return [rid.sibling(kind, name) for kind, name in references(rid.kind, spec)]

    # -- idempotency ---------------------------------------------------------------------

    @staticmethod
    def _replay(tx: Transaction, token: ClientToken) -> Output | None:
        if not token.value:
            return None
        found = tx.recall(token.scope)
        if found is None:
            return None
        fingerprint, response = found
        if fingerprint != token.fingerprint:
            raise ConflictException(
                "The request contains a client token that was used for a previous update "
                "resource call with different specifications."
            )
        return dict(response)

    @staticmethod
    def _remember(tx: Transaction, token: ClientToken, output: Output) -> None:
        if token.value:
            tx.remember(token.scope, token.fingerprint, output)

    # -- wire forms ----------------------------------------------------------------------

    @staticmethod
    def _data(
        rid: ResourceId, metadata: dict[str, Any], spec: Mapping[str, Any], status: str
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "meshName": rid.mesh,
            "metadata": metadata,
            "spec": spec,
            "status": {"status": status},
        }
        parent_kind = KINDS[rid.kind].parent
        if parent_kind not in (None, KindName.MESH):
            data[KINDS[parent_kind].name_member] = rid.parent_name
        if rid.kind is not KindName.MESH:
            data[KINDS[rid.kind].name_member] = rid.name
        return data

    @staticmethod
    def _ref(data: Mapping[str, Any]) -> dict[str, Any]:
        """The XxxRef of a listing: names plus metadata (the output shape drops uid)."""
        ref = {k: v for k, v in data.items() if k not in ("metadata", "spec", "status")}
        ref.update(data["metadata"])
        return ref

    # -- tags ----------------------------------------------------------------------------

    def _tagged(self, tx: Transaction, arn: str) -> tuple[ResourceId, Any]:
        rid = parse_arn(arn)
        if rid is None:
            raise BadRequestException(f"The resource ARN {arn} is not a valid App Mesh ARN.")
        record = repo.load(tx, rid)
        if record is None:
            raise NotFoundException(f"The resource {arn} does not exist.")
        return rid, record

    def tag_resource(
        self, ctx: RequestContext, *, resource_arn: str, tags: list[dict[str, str]]
    ) -> Output:
        with self._store.transaction() as tx:
            rid, record = self._tagged(tx, resource_arn)
            merged = {tag["key"]: tag["value"] for tag in record.body.get("tags", [])}
            merged.update({tag["key"]: tag.get("value", "") for tag in tags})
            if len(merged) > MAX_TAGS:
                raise TooManyTagsException(
                    f"The request exceeds the maximum allowed number of tags ({MAX_TAGS})."
                )
            new_tags = [{"key": k, "value": v} for k, v in merged.items()]
            repo.save(tx, rid, record.body["data"], new_tags)
        return {}

    def untag_resource(
        self, ctx: RequestContext, *, resource_arn: str, tag_keys: list[str]
    ) -> Output:
        with self._store.transaction() as tx:
            rid, record = self._tagged(tx, resource_arn)
            drop = set(tag_keys)
            kept = [tag for tag in record.body.get("tags", []) if tag["key"] not in drop]
            repo.save(tx, rid, record.body["data"], kept)
        return {}

    def list_tags_for_resource(
        self,
        ctx: RequestContext,
        *,
        resource_arn: str,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Output:
        start = decode_token(next_token)
        with self._store.read() as tx:
            _, record = self._tagged(tx, resource_arn)
        tags = record.body.get("tags", [])
        end = start + (limit or DEFAULT_LIMIT)
        more = end if end < len(tags) else None
        return {"tags": tags[start:end], "nextToken": encode_token(more)}
