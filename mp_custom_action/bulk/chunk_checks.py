"""Checking a whole chunk of parsed events at once, for the reading loop's common case.

:func:`chunk_verdict` answers for a few hundred records in a dozen passes that each loop in C
(``map`` over ``itemgetter``, ``set`` of types, ``min``/``max``), instead of a Python call a
record: whether every one is a good event, and whether each carries its own ``$insert_id``. It
decides nothing alone: any doubt is "check each", and :func:`imports_checks.check_event` then
finds the reason; the tests hold the verdict to that check, record by record.
"""

from __future__ import annotations

from itertools import repeat
from operator import itemgetter
from typing import Any

from .imports_checks import MAX_PROPERTIES

__all__ = ["AS_READ", "EACH", "NEEDS_IDS", "chunk_verdict"]

#: Every record is a good event with its own good ``$insert_id``: send the bytes as read.
AS_READ = "as read"
#: Every record is a good event, some without an ``$insert_id``: those get ours.
NEEDS_IDS = "needs ids"
#: Some record may be bad (or too unusual for the passes): check each one by one.
EACH = "each"

_EVENT, _PROPERTIES = itemgetter("event"), itemgetter("properties")
_TIME, _DISTINCT_ID = itemgetter("time"), itemgetter("distinct_id")
_NUMBER_SET, _ID_SET = {int, float}, {str, int}  # type() sets: bool is in neither


def chunk_verdict(events: list[Any]) -> str:
    """:data:`AS_READ`, :data:`NEEDS_IDS` or :data:`EACH` for a chunk of parsed records.

    (``time`` is never NaN here: neither parser makes one from JSON.)
    """
    if not events:
        return AS_READ
    try:
        props = list(map(_PROPERTIES, events))
        # Of the values JSON makes, only an object takes a string subscript (a list or a string
        # raises TypeError), so once each has a "time", each is a dict.
        times = list(map(_TIME, props))
        if max(map(len, props)) >= MAX_PROPERTIES:
            return EACH
        names = list(map(_EVENT, events))
        "".join(names)  # a TypeError unless every name is a string: the cheapest type test
        if not all(names):  # an empty name
            return EACH
        if not set(map(type, times)) <= _NUMBER_SET or min(times) < 0:
            return EACH
        if not set(map(type, map(_DISTINCT_ID, props))) <= _ID_SET:
            return EACH
    except (KeyError, TypeError):  # not an object, or a field missing
        return EACH
    # An id that is missing or null is no problem (check_event's rule): ours is added, or the
    # record goes as it is, just as record by record.
    ids = list(map(dict.get, props, repeat("$insert_id")))
    lacking = ids.count(None)
    if lacking:
        ids = [i for i in ids if i is not None]
    if ids and not _all_insert_ids(ids):
        return EACH
    return NEEDS_IDS if lacking else AS_READ


def _all_insert_ids(ids: list[Any]) -> bool:
    """Whether every one is 1-36 letters, digits or '-' (each is, when all of them together
    are made of those, and each has a length in range)."""
    try:
        joined = "".join(ids)
    except TypeError:  # one is not a string
        return False
    if not all(ids) or max(map(len, ids)) > 36 or not joined.isascii():
        return False
    if joined.encode().isalnum():  # bytes.isalnum: ASCII letters and digits only
        return True
    rest = joined.replace("-", "")
    return not rest or rest.encode().isalnum()
