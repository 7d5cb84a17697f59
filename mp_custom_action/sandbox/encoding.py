"""``Accept-Encoding: gzip`` on the sandbox's answers: whole bodies at once, streams chunk by chunk."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from .messages import Response

__all__ = ["gzipped"]

#: Content types compressed when the client accepts gzip (JSON answers and Export's JSONL).
_COMPRESSIBLE = ("application/json", "text/plain", "text/csv")


def gzipped(response: Response) -> Response:
    """``response`` gzip-encoded, if its type is one a client may ask compressed."""
    if not response.content_type.startswith(_COMPRESSIBLE):
        return response
    if any(name.lower() == "content-encoding" for name, _ in response.headers):
        return response
    headers = [*response.headers, ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    if not response.streamed:
        body = next(response.chunks(), b"")
        packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        packed = packer.compress(body) + packer.flush()
        return Response(response.status, packed, response.content_type, headers)
    return Response(response.status, _gzip_stream(response), response.content_type, headers)


def _gzip_stream(response: Response) -> Iterator[bytes]:
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in response.chunks():
        packed = packer.compress(chunk)
        if packed:
            yield packed
    yield packer.flush()
