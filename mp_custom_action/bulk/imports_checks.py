"""Checking each import record before it is sent, against Mixpanel's documented limits.

Events (``/import``): a non-empty ``event`` name, a ``properties`` object with fewer than 255
properties, ``properties.time`` a number of seconds (or milliseconds) since the epoch,
``properties.distinct_id`` (strict mode requires it), an ``$insert_id`` of at most 36 letters,
digits or ``-`` when there is one, and the whole record under 1 MB. Profile and group updates:
their id fields and at least one operation. Every reason names the field.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from .records import UNPARSED

__all__ = [
    "EVENT_MAX_BYTES",
    "KINDS",
    "MAX_PROPERTIES",
    "check_event",
    "check_record",
    "shown_record",
]

KINDS = ("events", "profiles", "groups")
#: Mixpanel's per-event limits for /import (MIXPANEL-FACTS: "under 1 MB, under 255 properties").
EVENT_MAX_BYTES = 1024 * 1024
MAX_PROPERTIES = 255
_INSERT_ID = re.compile(r"[A-Za-z0-9-]{1,36}")
_INSERT_ID_MATCH = _INSERT_ID.fullmatch
_OPERATIONS = ("$set", "$set_once", "$add", "$append", "$union", "$remove", "$unset", "$delete")


def check_record(kind: str, value: Any, raw: bytes) -> Optional[str]:
    """Why ``value`` cannot be sent as one of ``kind``, or ``None`` when it can."""
    if type(value) is not dict:
        return f"each {kind[:-1]} must be a JSON object"
    if len(raw) >= EVENT_MAX_BYTES:
        return f"the record is {len(raw):,} bytes; Mixpanel takes records under 1 MB"
    if kind == "events":
        return check_event(value)
    return _update_problem(value, groups=kind == "groups")


def check_event(event: dict[str, Any]) -> Optional[str]:
    """Why the event (a dict) cannot be sent, or ``None``; the size is checked by the caller."""
    # The common case, a good event, in as few steps as possible: this runs for every record.
    props = event.get("properties")
    name = event.get("event")
    if type(props) is dict and type(name) is str and name and len(props) < MAX_PROPERTIES:
        time: Any = props.get("time")
        distinct_id = props.get("distinct_id")
        insert_id = props.get("$insert_id")
        kind_t, kind_d = type(time), type(distinct_id)
        if (
            (kind_t is int or kind_t is float)
            and time >= 0
            and (kind_d is str or kind_d is int)
            and (insert_id is None or _is_insert_id(insert_id))
        ):
            return None
    return _event_reason(event)


def _is_insert_id(value: Any) -> bool:
    """1-36 letters, digits or '-'. Letters and digits alone are checked on ASCII bytes first, a
    third of the regex's cost; an id with a '-' (a UUID) is left to the regex."""
    if type(value) is not str:
        return False
    if len(value) <= 36 and value.isascii() and value.encode().isalnum():
        return True
    return _INSERT_ID_MATCH(value) is not None


def _event_reason(event: dict[str, Any]) -> Optional[str]:
    name = event.get("event")
    if not isinstance(name, str) or not name:
        return "'event' must be a non-empty string"
    props = event.get("properties")
    if type(props) is not dict:
        return "'properties' must be a JSON object"
    if len(props) >= MAX_PROPERTIES:
        return f"'properties' has {len(props)} properties; Mixpanel takes fewer than 255"
    time = props.get("time")
    if time is None or isinstance(time, bool) or not isinstance(time, (int, float)) or time < 0:
        return "'properties.time' must be a number of seconds (or milliseconds) since the epoch"
    distinct_id = props.get("distinct_id")
    if distinct_id is None:
        return "'properties.distinct_id' is required"
    if isinstance(distinct_id, bool) or not isinstance(distinct_id, (str, int)):
        return "'properties.distinct_id' must be a string"
    insert_id = props.get("$insert_id")
    if insert_id is not None and not _is_insert_id(insert_id):
        return "'properties.$insert_id' must be 1-36 letters, digits or '-'"
    return None


def _update_problem(update: dict[str, Any], *, groups: bool) -> Optional[str]:
    if groups:
        key = update.get("$group_key")
        if not isinstance(key, str) or not key:
            return "'$group_key' must be a non-empty string"
        if not _is_id(update.get("$group_id")):
            return "'$group_id' must be a non-empty string or a number"
    elif not _is_id(update.get("$distinct_id")):
        return "'$distinct_id' must be a non-empty string or a number"
    if not any(op in update for op in _OPERATIONS):
        return f"no operation; expected one of {', '.join(_OPERATIONS)}"
    return None


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def shown_record(value: Any, raw: bytes) -> Any:
    """The record as a rejects file shows it: its value, or its text when it is not JSON; a
    project token the record carries (``$token``, ``properties.token``) is left out."""
    if value is UNPARSED:
        return raw.decode("utf-8", "replace")
    if type(value) is dict:
        value = {k: v for k, v in value.items() if k != "$token"}
        props = value.get("properties")
        if type(props) is dict and "token" in props:
            value["properties"] = {k: v for k, v in props.items() if k != "token"}
    return value
