"""Ingestion API profile updates: ``/engage`` (user profiles) and ``/groups`` (group profiles).

Each update carries the project token as ``$token`` and one or more operations. An update is
checked whole before any of it is applied, so an invalid one changes nothing.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from .context import Context, method_not_allowed
from .ingestion import IMPORT_MAX_BYTES, IMPORT_MAX_EVENTS, is_verbose, parse_records
from .messages import BodyTooLarge, Request, Response, error, json_response

__all__ = ["OPERATIONS", "handle_engage", "handle_groups"]

#: Operations, in the order they are applied when one update holds several.
OPERATIONS = ("$set", "$set_once", "$add", "$append", "$union", "$remove", "$unset", "$delete")
_USER_KEYS = frozenset({"$token", "$distinct_id", "$ip", "$time", "$ignore_time", "$ignore_alias"})
_GROUP_KEYS = frozenset({"$token", "$group_key", "$group_id", "$time", "$ignore_time"})


def handle_engage(ctx: Context, request: Request) -> Response:
    return _handle(ctx, request, groups=False)


def handle_groups(ctx: Context, request: Request) -> Response:
    return _handle(ctx, request, groups=True)


def _handle(ctx: Context, request: Request, *, groups: bool) -> Response:
    if request.method not in ("GET", "POST"):
        return method_not_allowed(request, ("GET", "POST"), "classic")
    verbose = is_verbose(request)
    try:
        updates = parse_records(request, request.decoded_body(IMPORT_MAX_BYTES))
    except BodyTooLarge as exc:
        return error(413, str(exc))
    except ValueError as exc:
        return _answer(False, str(exc), verbose)
    if len(updates) > IMPORT_MAX_EVENTS:
        return error(413, f"request exceeds max limit of {IMPORT_MAX_EVENTS} updates")
    for index, update in enumerate(updates):
        token = update.get("$token") if isinstance(update, dict) else None
        if not token:
            request.notes["auth"] = "refused: no token"
            return error(401, f"$token, missing or empty in update {index}")
        if not ctx.keys.is_token(token):
            request.notes["auth"] = "refused: invalid token"
            return error(401, f"Invalid token in update {index}")
    request.notes["auth"] = "token"
    valid: list[dict[str, Any]] = []
    problem = None
    for update in updates:
        reason = _problem(update, groups)
        if reason is None:
            valid.append(update)
        else:
            problem = problem or reason
    if valid:
        with ctx.state.write() as data:
            for update in valid:
                if groups:
                    table = data.groups.setdefault(str(update["$group_key"]), {})
                    _apply(table, str(update["$group_id"]), update)
                    if not table:
                        del data.groups[str(update["$group_key"])]
                else:
                    _apply(data.profiles, str(update["$distinct_id"]), update)
    return _answer(bool(valid), None if valid else problem, verbose)


def _answer(ok: bool, problem: Optional[str], verbose: bool) -> Response:
    if verbose:
        return json_response({"error": None if ok else problem, "status": 1 if ok else 0})
    return Response(200, b"1" if ok else b"0", "text/plain")


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _problem(update: dict[str, Any], groups: bool) -> Optional[str]:
    if groups:
        if not isinstance(update.get("$group_key"), str) or not update["$group_key"]:
            return "'$group_key' must be a non-empty string"
        if not _is_id(update.get("$group_id")):
            return "'$group_id' must be a non-empty string"
    elif not _is_id(update.get("$distinct_id")):
        return "'$distinct_id' must be a non-empty string"
    allowed = _GROUP_KEYS if groups else _USER_KEYS
    unknown = [k for k in update if k not in allowed and k not in OPERATIONS]
    if unknown:
        return f"unknown keys {sorted(unknown)}; operations are {', '.join(OPERATIONS)}"
    ops = [k for k in OPERATIONS if k in update]
    if not ops:
        return f"no operation; expected one of {', '.join(OPERATIONS)}"
    for op in ops:
        value = update[op]
        if op == "$unset":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                return "'$unset' takes a list of property names"
        elif op == "$delete":
            continue  # any value: Mixpanel sends ""
        elif not isinstance(value, dict):
            return f"'{op}' takes an object of property names to values"
        elif op == "$add" and not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
        ):
            return "'$add' takes numbers"
        elif op == "$union" and not all(isinstance(v, list) for v in value.values()):
            return "'$union' takes lists"
    return None


def _apply(table: dict[str, dict[str, Any]], key: str, update: dict[str, Any]) -> None:
    if "$delete" in update:
        table.pop(key, None)
        return
    props = table.setdefault(key, {})
    for op in OPERATIONS:
        if op not in update:
            continue
        value = copy.deepcopy(update[op])
        if op == "$set":
            props.update(value)
        elif op == "$set_once":
            for name, item in value.items():
                props.setdefault(name, item)
        elif op == "$add":
            for name, amount in value.items():
                current = props.get(name, 0)
                base = (
                    current
                    if isinstance(current, (int, float)) and not isinstance(current, bool)
                    else 0
                )
                props[name] = base + amount
        elif op == "$append":
            for name, item in value.items():
                _as_list(props, name).append(item)
        elif op == "$union":
            for name, items in value.items():
                current = _as_list(props, name)
                current.extend(i for i in items if i not in current)
        elif op == "$remove":
            for name, item in value.items():
                if isinstance(props.get(name), list):
                    props[name] = [i for i in props[name] if i != item]
        elif op == "$unset":
            for name in value:
                props.pop(name, None)


def _as_list(props: dict[str, Any], name: str) -> list[Any]:
    current = props.get(name)
    if not isinstance(current, list):
        current = [] if current is None else [current]
        props[name] = current
    return current
