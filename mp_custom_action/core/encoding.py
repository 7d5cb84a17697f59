"""Body encodings: the card's Body object as JSON, JSON Lines, form fields or CSV, and gzip.

The media type is the endpoint's (see :mod:`.endpoints`), or the caller's ``Content-Type`` where
the endpoint accepts several. Each encoder returns the bytes to send and what ``--dry-run`` shows:

    JSON     {"a": [1, 2]}              -> {"a":[1,2]}               shown: the object
    NDJSON   [{"a": 1}, {"b": 2}]       -> {"a":1}\\n{"b":2}\\n        shown: the text
    form     {"script": "...", "params": {"x": 1}}
                                        -> script=...&params=%7B%22x%22%3A1%7D
                                           shown: {"script": "...", "params": "{\\"x\\":1}"}
    CSV      "id,name\\n1,a\\n"  or  [{"id": 1, "name": "a"}]  or  [["id", "name"], [1, "a"]]
                                        -> id,name\\r\\n1,a\\r\\n ... shown: the text

Form fields are one level deep, as Mixpanel reads them: a nested object or array becomes its
compact JSON text (``params`` of JQL, ``data`` of the ``/track`` identity forms), a boolean
``true``/``false``, ``null`` drops the field.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import quote

from .._text import REDACTED
from ..errors import BodyError, HeaderError
from .credentials import AppliedCredential
from .endpoints import CSV, FORM, JSON, NDJSON, Endpoint
from .inputs import ActionInputs, check_json_value, parse_json_text

__all__ = [
    "RequestBody",
    "all_have_insert_id",
    "encode_body",
    "form_fields",
    "gzip_bytes",
    "media_type_of",
]


def media_type_of(value: str) -> str:
    """``application/json`` for ``Application/JSON; charset=utf-8``: the type, without parameters."""
    return value.split(";", 1)[0].strip().lower()


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def form_fields(body: Any, *, field: str) -> dict[str, str]:
    """The form's fields as text, from an object one level deep (see the module docstring)."""
    if not isinstance(body, Mapping):
        raise BodyError(
            f"this endpoint takes a form ({FORM}): expected an object of fields, "
            f"got {'an array' if isinstance(body, (list, tuple)) else type(body).__name__}",
            field=field,
        )
    fields: dict[str, str] = {}
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, bool):
            fields[key] = "true" if value else "false"
        elif isinstance(value, str):
            fields[key] = value
        elif isinstance(value, (int, float)):
            fields[key] = _json_text(value)
        else:
            # Mixpanel reads nested form values as JSON text (JQL `params`, the `data` of /track).
            fields[key] = _json_text(value)
    return fields


def _form_bytes(fields: Mapping[str, str]) -> bytes:
    # application/x-www-form-urlencoded: "+" would mean a space, so spaces are %20 and "+" is %2B.
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items()).encode()


def _ndjson(body: Any, field: str) -> str:
    records = body if isinstance(body, (list, tuple)) else [body]
    if isinstance(body, (list, tuple)) and not body:
        raise BodyError(f"an empty array gives no lines of {NDJSON}", field=field)
    return "".join(_json_text(record) + "\n" for record in records)


def _csv_text(body: Any, field: str) -> str:
    if isinstance(body, str):
        return body
    if not isinstance(body, (list, tuple)) or not body:
        raise BodyError(
            f"this endpoint takes {CSV}: expected CSV text, an array of objects (the keys make "
            "the header row) or an array of arrays (rows)",
            field=field,
        )
    out = io.StringIO()
    writer = csv.writer(out)
    if all(isinstance(row, Mapping) for row in body):
        header = list(dict.fromkeys(key for row in body for key in row))
        writer.writerow(header)
        for row in body:
            writer.writerow([_cell(row.get(key)) for key in header])
    elif all(isinstance(row, (list, tuple)) for row in body):
        for i, row in enumerate(body):
            writer.writerow([_cell(v, f"{field}[{i}]") for v in row])
    else:
        raise BodyError(
            f"this endpoint takes {CSV}: the array must hold only objects or only arrays",
            field=field,
        )
    return out.getvalue()


def _cell(value: Any, field: str = "body") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _json_text(value)
    raise BodyError("a CSV cell must be a string, number, boolean or null", field=field)


def encode_body(body: Any, media: str, *, field: str) -> tuple[bytes, Any]:
    """Encode a checked JSON value (or CSV text) as ``media``; return (bytes, what is shown)."""
    if media == JSON:
        return _json_text(body).encode("utf-8"), body
    if media == NDJSON:
        text = _ndjson(body, field)
        return text.encode("utf-8"), text
    if media == FORM:
        fields = form_fields(body, field=field)
        return _form_bytes(fields), fields
    if media == CSV:
        text = _csv_text(body, field)
        return text.encode("utf-8"), text
    raise BodyError(f"no encoder for {media!r}", field=field)  # the table names only the above


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzip-compressed, with no timestamp (the same body gives the same bytes)."""
    return gzip.compress(data, compresslevel=6, mtime=0)


class RequestBody:
    """Chooses the body's media type and encoding from the endpoint and the caller's headers."""

    def __init__(
        self,
        action: ActionInputs,
        endpoint: Endpoint,
        credential: AppliedCredential,
        path: str,
        label: str,
        prefix: str,
    ) -> None:
        self.action = action
        self.endpoint = endpoint
        self.credential = credential
        self.path = path
        self.label = label
        self.where = f"{prefix}body"
        self.where_headers = f"{prefix}headers"
        self.media = ""
        self.gzip = False
        self._given: dict[str, str] = {}

    def encode(self, headers: dict[str, str]) -> tuple[Optional[bytes], Any]:
        """Encode the body; take ``Content-Type``/``Content-Encoding`` out of ``headers``."""
        content_type = self._pop(headers, "Content-Type")
        content_encoding = self._pop(headers, "Content-Encoding")
        action, endpoint = self.action, self.endpoint
        accepted = endpoint.body_media(action.method)
        body = action.body
        if not action.has_body:
            for name, value in (
                ("Content-Type", content_type),
                ("Content-Encoding", content_encoding),
            ):
                if value is not None:
                    raise HeaderError("describes a body, and none is given", field=self._at(name))
            if endpoint.project_id == "form" and self.credential.project_id is not None:
                body = {}  # the service account's project_id travels in a form of its own
            elif self.credential.data_token is not None:
                raise BodyError(
                    f"{self.path} takes the project token inside the data: give the events or "
                    "updates as a JSON object or array",
                    field=self.where,
                )
            else:
                return None, None
        if not accepted:
            raise BodyError(f"{self.label} takes no body", field=self.where)
        self.media = self._media(content_type, accepted, body)
        self.gzip = self._gzip(content_encoding)
        if isinstance(body, bytes):
            # The caller's own encoding (bulk imports): sent as it is, not checked, not copied.
            return body, None
        check_json_value(body, field=self.where)
        data, shown = self._encoded(body)
        return (gzip_bytes(data) if self.gzip else data), shown

    def _pop(self, headers: dict[str, str], name: str) -> Optional[str]:
        for key in list(headers):
            if key.lower() == name.lower():
                self._given[name] = key  # errors name the header as the caller spelt it
                return headers.pop(key)
        return None

    def _at(self, name: str) -> str:
        return f"{self.where_headers}.{self._given.get(name, name)}"

    def _media(self, content_type: Optional[str], accepted: tuple[str, ...], body: Any) -> str:
        takes = " or ".join(accepted)
        if content_type is not None:
            media = media_type_of(content_type)
            if media not in accepted:
                raise HeaderError(
                    f"{self.label} takes {takes}, not {content_type!r}",
                    field=self._at("Content-Type"),
                )
            return media
        if isinstance(body, bytes):
            raise BodyError(
                f"a body given as bytes is sent as it is: name its media type in headers "
                f"Content-Type ({self.label} takes {takes})",
                field=self.where,
            )
        if isinstance(body, str):
            if CSV in accepted:
                return CSV
            raise BodyError(
                "expected a JSON object or array (a string body is sent only where the endpoint "
                f"takes {CSV}, such as PUT /lookup-tables/{{id}}; {self.label} takes {takes})",
                field=self.where,
            )
        relative_url = self.action.relative_url
        fragment = relative_url.partition("#")[2] if isinstance(relative_url, str) else ""
        for name, media in self.endpoint.fragment_media:
            if fragment == name and media in accepted:
                return media
        return accepted[0]

    def _gzip(self, content_encoding: Optional[str]) -> bool:
        if content_encoding is None or content_encoding.strip().lower() == "identity":
            return False
        encodings = self.endpoint.encodings
        if content_encoding.strip().lower() == "gzip" and "gzip" in encodings:
            return True
        takes = (
            " or ".join(encodings) if encodings else "no Content-Encoding (send the body as it is)"
        )
        raise HeaderError(
            f"{self.label} takes {takes}, not {content_encoding!r}",
            field=self._at("Content-Encoding"),
        )

    def _encoded(self, body: Any) -> tuple[bytes, Any]:
        media, credential = self.media, self.credential
        if media not in (FORM, CSV) and not isinstance(body, (Mapping, list, tuple)):
            raise BodyError(
                f"expected a JSON object or array, got {type(body).__name__}", field=self.where
            )
        if (
            media == FORM
            and self.endpoint.project_id == "form"
            and credential.project_id
            and isinstance(body, Mapping)
            and "project_id" not in body
        ):
            body = {**body, "project_id": int(credential.project_id)}
        if credential.data_token is None:
            return encode_body(body, media, field=self.where)
        key = (
            "properties.token"
            if self.path == "/track" or self.path.startswith("/track/")
            else "$token"
        )
        wire = self._tokened(body, credential.data_token.reveal(), key)
        data, _ = encode_body(wire, media, field=self.where)
        _, shown = encode_body(self._tokened(body, REDACTED, key), media, field=self.where)
        return data, shown

    def _tokened(self, body: Any, token: str, key: str) -> Any:
        if self.media != FORM:
            return _with_token(body, token, key)
        # The /track identity forms: the event is the JSON text of the `data` field.
        data = body.get("data") if isinstance(body, Mapping) else None
        if isinstance(data, str):
            data = parse_json_text(data, field=f"{self.where}.data")
        if not isinstance(data, (Mapping, list)):
            raise BodyError(
                f"{self.path} takes a form whose 'data' field holds the event (a JSON object) "
                "the project token is written into",
                field=f"{self.where}.data",
            )
        return {**body, "data": _with_token(data, token, key)}


def _with_token(body: Any, token: str, key: str) -> Any:
    """Write the token into each record that lacks one, copying instead of mutating the caller's."""
    records = list(body) if isinstance(body, (list, tuple)) else [body]
    out = []
    for record in records:
        if not isinstance(record, Mapping):
            out.append(record)
            continue
        record = dict(record)
        if key == "$token":
            record.setdefault("$token", token)
        else:
            props = record.get("properties")
            props = dict(props) if isinstance(props, Mapping) else {}
            props.setdefault("token", token)
            record["properties"] = props
        out.append(record)
    return out if isinstance(body, (list, tuple)) else out[0]


def all_have_insert_id(body: Any) -> bool:
    if isinstance(body, bytes):
        return False
    records = body if isinstance(body, (list, tuple)) else [body]
    if not records:
        return False
    for record in records:
        props = record.get("properties") if isinstance(record, Mapping) else None
        if not isinstance(props, Mapping) or not props.get("$insert_id"):
            return False
    return True
