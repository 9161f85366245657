"""gunicorn's access log with the secrets in URLs masked.

A visit's link, a calendar feed, a returning patient's one-time link, a hold's resume key and a
staff password reset all carry their secret in the path: whoever reads the access log could
open them. Query values may hold what a person typed (the desk's patient search), so only
values known to be harmless (dates, ids, kinds) are kept.

Wire it in gunicorn.conf.py: ``logger_class = "booking.access_log.MaskedAccessLogger"``, or
on the command line ``--logger-class booking.access_log.MaskedAccessLogger``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from gunicorn.glogging import Logger

MASK = "***"
# Each pattern keeps its first group and masks the path segment after it.
SECRET_PATHS = (
    re.compile(r"(/visit/)[^/]+"),  # a visit's own page and everything under it
    re.compile(r"(/calendar/)(?:[^/]+?(?=\.ics$)|[^/]+)"),  # a calendar feed (keeps ".ics")
    re.compile(r"(/returning/link/)[^/]+"),  # a returning patient's one-time link
    re.compile(r"(/book/resume/[^/]+/)[^/]+"),  # a hold's resume key (its id is no secret)
    re.compile(r"(/staff/reset/)[^/]+"),  # a staff password reset
)
HARMLESS_QUERY_KEYS = frozenset(
    {"date", "day", "start", "practitioner", "service", "kind", "page", "next", "status"}
)
# The request line, and every atom that can carry the path, query or the page it came from.
URL_ATOMS = ("U", "f", "{referer}i")
ENVIRON_URL_ATOMS = ("{raw_uri}e", "{path_info}e", "{request_uri}e", "{http_referer}e")
QUERY_ATOMS = ("q", "{query_string}e")


def mask_path(path: str) -> str:
    """Return the path with the secret part of every secret-bearing route replaced."""
    for pattern in SECRET_PATHS:
        path = pattern.sub(lambda match: match.group(1) + MASK, path)
    return path


def mask_query(query: str) -> str:
    """Return the query string with every value but the harmless ones replaced."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(
        f"{quote(key)}={quote(value) if key in HARMLESS_QUERY_KEYS else MASK}"
        for key, value in pairs
    )


def mask_url(url: str) -> str:
    """Mask a request target or a full URL (a Referer): its path and its query."""
    if not url or url == "-":
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=mask_path(parts.path), query=mask_query(parts.query)))


def mask_request_line(line: str) -> str:
    """Mask the target of 'GET /visit/abc HTTP/1.1'."""
    method, _, rest = line.partition(" ")
    target, _, protocol = rest.rpartition(" ")
    if not target:
        return mask_url(line)
    return f"{method} {mask_url(target)} {protocol}"


class MaskedAccessLogger(Logger):
    """gunicorn's logger, with secrets masked in every atom the access log format can use."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = mask_request_line(atoms["r"])
        for key in (*URL_ATOMS, *ENVIRON_URL_ATOMS):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_url(atoms[key])
        for key in QUERY_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_query(atoms[key])
        return atoms
