"""Identifier factories, injected like the clock (never `uuid4()` as a default value)."""

from __future__ import annotations

import itertools
import uuid
from typing import Protocol


class IdFactory(Protocol):
    def uuid(self) -> str:
        """A fresh RFC 4122 UUID in its canonical 36-character form."""
        ...

    def hex(self, length: int = 32) -> str:
        """A fresh lowercase hexadecimal id (ECS task ids are 32 hex digits)."""
        ...


class RandomIds:
    def uuid(self) -> str:
        return str(uuid.uuid4())

    def hex(self, length: int = 32) -> str:
        return (uuid.uuid4().hex + uuid.uuid4().hex)[:length]


class SequentialIds:
    """Deterministic ids for tests and golden files."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def uuid(self) -> str:
        return str(uuid.UUID(int=next(self._counter)))

    def hex(self, length: int = 32) -> str:
        return f"{next(self._counter):0{length}x}"
