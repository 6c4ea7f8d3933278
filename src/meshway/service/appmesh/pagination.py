"""List tokens: opaque to clients, a creation-order position to us."""

from __future__ import annotations

import base64
import binascii

from meshway.core.errors import BadRequestException

DEFAULT_LIMIT = 100


def encode_token(seq: int | None) -> str | None:
    if seq is None:
        return None
    return base64.urlsafe_b64encode(f"mw1:{seq}".encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, seq = text.partition(":")
        if prefix != "mw1" or not seq.isdigit():
            raise ValueError(text)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestException("The nextToken provided is invalid.") from exc
