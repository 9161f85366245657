"""The one validation layer every request passes before any view: ids in paths, control
characters, body size and JSON depth.

What gets through here is text a view can store, compare and render: an id a column can hold,
no NUL byte (PostgreSQL refuses it in text), no terminal escape, no lone surrogate (it cannot be
encoded to UTF-8), and JSON a view can walk without recursing out of the stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from booking.web.errors import render_error, render_invalid_field, wants_json
from booking.web.parsing import MAX_ID

MAX_BODY_BYTES = 64 * 1024  # forms and JSON; nothing the clinic's pages post comes near it
MAX_JSON_DEPTH = 20
# C0 controls and DEL, but tab, line feed and carriage return are ordinary in typed text; lone
# surrogates arrive through JSON's \ud800 escapes and cannot be written out as UTF-8.
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
CONTROL_IN_NAME = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
CONTROL_MESSAGE = "must not contain control characters (such as NUL or escape)"
READS = ("GET", "HEAD", "OPTIONS")
PATH = "address"  # the "field" named when the path itself holds a control character


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 1 to the largest INTEGER; anything else is "not found"."""

    # ASCII digits only (`\d` would let "٣" through to int()), at most as many as MAX_ID has.
    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)


class BodyRefused(HTTPException):
    """A JSON body nested deeper than anyone's data is (or too deep to read at all)."""

    code = 400
    description = f"JSON nested more than {MAX_JSON_DEPTH} levels deep."


class JSONTooDeep(ValueError):
    """Raised by the app's JSON loads: a ValueError, so get_json(silent=True) gives None."""


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing nesting deeper than MAX_JSON_DEPTH: every reader of the body
    (the views, Flask-Security's token loader) gets a ValueError, never a RecursionError."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise JSONTooDeep() from None
        if depth(value) > MAX_JSON_DEPTH:
            raise JSONTooDeep()
        return value


class EdgeRequest(Request):
    """Flask's request, whose get_json(silent=True) is silent about an oversized body too: the
    error page for that body must not fail again where Flask-Security looks for a token."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RequestEntityTooLarge:
            if silent:
                return None
            raise


def depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def json_strings(value: Any, name: str = "body") -> Iterator[tuple[str, str]]:
    """Every string in a parsed JSON value (keys too), with the field it belongs to."""
    stack = [(value, name)]
    while stack:
        item, field = stack.pop()
        if isinstance(item, str):
            yield field, item
        elif isinstance(item, dict):
            for key, child in item.items():
                named = key if field == "body" else field
                yield named, key
                stack.append((child, named))
        elif isinstance(item, list):
            stack.extend((child, field) for child in item)


def request_json() -> Any:
    """The body as JSON; None when it is not JSON (the view says what it wants instead)."""
    try:
        return current_app.json.loads(request.get_data(cache=True))
    except JSONTooDeep:
        raise BodyRefused() from None
    except ValueError:
        return None


def typed_text() -> Iterator[tuple[str, str, re.Pattern]]:
    """(field, text, what it may not contain) for every value a person or program typed."""
    yield PATH, request.path, CONTROL_IN_NAME
    sources = (request.args,) if request.method in READS else (request.args, request.form)
    for source in sources:
        for key, values in source.lists():
            yield key, key, CONTROL_IN_NAME
            for value in values:
                yield key, value, CONTROL_IN_TEXT
    if request.is_json:
        for field, text in json_strings(request_json()):
            yield field, text, CONTROL_IN_TEXT


def refuse_control_characters():
    """422 naming the first field that holds a control character; None when all is text."""
    for field, text, forbidden in typed_text():
        if forbidden.search(text):
            label = "the page address" if field == PATH else None
            shown = CONTROL_IN_NAME.sub("\ufffd", field)  # the name may hold the character too
            return render_invalid_field(shown, CONTROL_MESSAGE, label)
    return None


def refuse_json_on_pages():
    """415 for a JSON body outside the API: the pages take web forms, and Flask-WTF would read
    a JSON list or number as form data and fail."""
    if request.is_json and request.method not in READS and not wants_json():
        return render_error(415)
    return None


def check_request():
    """The edge's one check before any view: None lets the request through."""
    return refuse_json_on_pages() or refuse_control_characters()


def register(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.json = BoundedJSONProvider(app)
    app.request_class = EdgeRequest
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default: no limit
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.before_request(check_request)

    @app.errorhandler(BodyRefused)
    def body_refused(error: BodyRefused):
        return render_error(400, error.description)

