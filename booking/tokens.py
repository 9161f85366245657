"""Random tokens that open something (a sign-in link, a booking draft): made, and stored hashed.

A token is ``secrets.token_urlsafe(32)`` (43 characters). Only its SHA-256 is stored, so the
table alone opens nothing; anything much longer than a token is refused before hashing.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32
LONGEST_TOKEN = 100


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def could_be_token(value: object) -> bool:
    """Whether a value is worth looking up: a non-empty string no longer than a token could be."""
    return isinstance(value, str) and 0 < len(value) <= LONGEST_TOKEN
