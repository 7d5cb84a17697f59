"""Following a paged endpoint's pages: the Query engage ``session_id`` + ``page`` protocol.

Which endpoints page is a fact of the endpoint table (core/endpoints.py): ``POST /2.0/engage``.

The first request goes as the user built it. Each answer carries ``results``, ``page``,
``page_size``, ``session_id`` (and ``total``); the next request is the same one with that
``session_id`` and ``page + 1`` in its query. The run stops, whatever the server does, on the
first of:

* ``empty``: a page without results; ``last_page``: fewer results than ``page_size``;
  ``total``: as many results as the first answer's ``total``; ``max_pages``: ``max_pages`` pages;
* ``status``: an answer that is not a 2xx (it is the last page yielded, for the caller to report);
* ``unpaged``: an answer without a ``results`` list; ``no_session``: a full page without a
  ``session_id`` to ask for the next one with;
* ``repeated``: an answer for another page than the one asked for, or in another session: the
  server is not advancing (or started over), and following it could loop or duplicate records.

Each page needs the previous one's answer, so pages are fetched one after the other; each is one
call through the runner (its retries, deadline and rate budget: Query allows 60 an hour).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from ..core.endpoints import PAGING_SESSION_PAGE
from ..errors import InputError

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner

__all__ = ["COMPLETE", "Page", "Pages", "is_paged", "next_page", "paginate"]

#: Stop reasons that are not failures: every record was read, or max_pages were (the others
#: mean the run was cut short by the server).
COMPLETE = frozenset({"empty", "last_page", "total", "max_pages"})


def is_paged(request: OutgoingRequest) -> bool:
    """Does ``request`` reach an endpoint that pages by ``session_id`` + ``page``? The endpoint
    table says (core/endpoints.py, ``paging``): Query's ``POST /2.0/engage``."""
    endpoint = request.endpoint
    return endpoint is not None and endpoint.paging == PAGING_SESSION_PAGE


@dataclass
class Page:
    """One answered page: its number (0-based), the result, and its records (``results``)."""

    number: int
    result: Result
    records: list[Any]


class Pages:
    """Iterate a paged call's pages; afterwards ``stopped`` says why it ended, ``pages`` and
    ``records`` how much came."""

    def __init__(
        self, runner: Runner, request: OutgoingRequest, *, max_pages: Optional[int] = None
    ) -> None:
        if not is_paged(request):
            raise InputError(
                f"{request.method} {request.api.name} {request.path} does not page; paging follows "
                "Query POST /2.0/engage (session_id and page)",
                field="paginate",
            )
        if max_pages is not None and (
            isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1
        ):
            raise InputError(f"expected a whole number >= 1, got {max_pages!r}", field="max_pages")
        self.runner = runner
        self.request = request
        self.max_pages = max_pages
        self.stopped: Optional[str] = None
        self.pages = 0
        self.records = 0

    @property
    def complete(self) -> bool:
        return self.stopped in COMPLETE

    def __iter__(self) -> Iterator[Page]:
        request = self.request
        session: Optional[str] = None
        total: Optional[int] = None
        number = _start_page(request.url)
        while True:
            result = self.runner.send(request)
            body = result.body
            if not result.ok:
                self.stopped = "status"
                self.pages += 1
                yield Page(number, result, [])
                return
            records = body.get("results") if isinstance(body, dict) else None
            if not isinstance(records, list):
                self.stopped = "unpaged"
                self.pages += 1
                yield Page(number, result, [])
                return
            answered = _int(body.get("page"))
            sid = body.get("session_id")
            if (answered is not None and answered != number) or (
                session is not None and sid != session
            ):
                self.stopped = "repeated"
                return  # this page's records are not the ones asked for: none of them is kept
            self.pages += 1
            self.records += len(records)
            yield Page(number, result, records)
            if total is None:
                total = _int(body.get("total"))
            size = _int(body.get("page_size"))
            reason = _stop(records, size, total, self.records, self.pages, self.max_pages)
            if reason is None and not (isinstance(sid, str) and sid):
                reason = "no_session"
            if reason is not None:
                self.stopped = reason
                return
            session = str(sid)
            number += 1
            request = next_page(request, session, number)


def _stop(
    records: list[Any],
    page_size: Optional[int],
    total: Optional[int],
    seen: int,
    pages: int,
    max_pages: Optional[int],
) -> Optional[str]:
    if not records:
        return "empty"
    if page_size is not None and len(records) < page_size:
        return "last_page"
    if total is not None and seen >= total:
        return "total"
    if max_pages is not None and pages >= max_pages:
        return "max_pages"
    return None


def paginate(runner: Runner, inputs: object, *, max_pages: Optional[int] = None) -> Pages:
    """The pages of a paged call: ``inputs`` are card inputs (or an :class:`OutgoingRequest`).

    ::

        pages = paginate(runner, {"method": "POST", "api": "query", "relative_url": "/2.0/engage"})
        for page in pages:
            for profile in page.records:
                ...
        pages.stopped   # "last_page"
    """
    from ..core.request import OutgoingRequest

    request = inputs if isinstance(inputs, OutgoingRequest) else runner.prepare(inputs)
    return Pages(runner, request, max_pages=max_pages)


def _int(value: object) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return None
    return value


def _start_page(url: str) -> int:
    """The page the user's own request asks for (``page=`` in its query), 0 by default."""
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == "page" and value.isdigit():
            return int(value)
    return 0


def next_page(request: OutgoingRequest, session: str, page: int) -> OutgoingRequest:
    """``request`` asking for ``page`` of ``session``: in its form body when it sends a form
    (Mixpanel's engage reads its fields there), else in its query."""
    content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    if request.body is not None and content_type.split(";")[0].strip() == _FORM:
        body = _with_page(request.body.decode("ascii"), session, page).encode("ascii")
        return dataclasses.replace(request, body=body)
    parts = urlsplit(request.url)
    url = urlunsplit(parts._replace(query=_with_page(parts.query, session, page)))
    return dataclasses.replace(request, url=url)


_FORM = "application/x-www-form-urlencoded"


def _with_page(fields: str, session: str, page: int) -> str:
    """URL-encoded ``fields`` with ``session_id`` and ``page`` set, the others kept as they were."""
    kept = [
        item
        for item in fields.split("&")
        if item and item.split("=", 1)[0] not in ("session_id", "page")
    ]
    kept += [f"session_id={quote(session, safe='')}", f"page={page}"]
    return "&".join(kept)
