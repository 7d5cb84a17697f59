"""Every log record that leaves the process passes one masking: ours, urllib3's and requests'.

At ``-vv`` urllib3 logs each request line (``"GET /path?key=value HTTP/1.1" 200``), and a URL may
carry what must not be shown: any query value of ``call``, or a secret a manifest reads into a
path (``${env.MP_SECRET}``). The command line logs through one handler whose formatter masks the
whole formatted record (message, arguments and traceback alike):

* every query value becomes ``***`` (``?type=***&from_date=***``): the names stay readable;
* every value handed to :func:`hide` (the credentials in use, the values of the credential
  variables) becomes ``***``, written as is or percent-encoded; a value shorter than six
  characters only where no letter or digit touches it, so ``5`` does not blank out ``2025``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, Callable, TextIO
from urllib.parse import quote, quote_plus

from ._text import REDACTED, one_line

__all__ = ["MaskingFormatter", "hide", "install", "mask"]

_SHORTEST_MASKED_INSIDE = 6
_QUERY_VALUE = re.compile(r"([?&][^=&\s\"'#?]+=)[^&\s\"'#]+")
_lock = threading.Lock()
_forms: list[str] = []  # longest first
_short: list[re.Pattern[str]] = []


def hide(values: Iterable[object]) -> None:
    """Mask each of ``values`` (its text, and its percent-encoded forms) in every log record."""
    with _lock:
        for value in values:
            text = "" if value is None else str(value)
            if not text.strip():
                continue
            forms = {text, quote(text, safe=""), quote(text, safe="/"), quote_plus(text)}
            if len(text) < _SHORTEST_MASKED_INSIDE:
                for form in forms:
                    pattern = re.compile(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])")
                    if pattern not in _short:
                        _short.append(pattern)
                continue
            _forms.extend(form for form in forms if form not in _forms)
        _forms.sort(key=len, reverse=True)


def mask(text: str) -> str:
    """``text`` with every hidden value and every URL query value replaced by ``***``."""
    for form in _forms:
        if form in text:
            text = text.replace(form, REDACTED)
    for pattern in _short:
        text = pattern.sub(REDACTED, text)
    return _QUERY_VALUE.sub(rf"\g<1>{REDACTED}", text)


class MaskingFormatter(logging.Formatter):
    """A formatter whose every output passed :func:`mask`.

    A library's record may carry a traceback (urllib3 logs one for a header it cannot parse):
    it is shown as one line ``ExcType: message`` unless ``tracebacks`` (``--debug``).
    """

    def __init__(self, fmt: str, *, tracebacks: bool = False) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        # Another handler may have cached its own rendering of the traceback on the record.
        cached = record.exc_text
        record.exc_text = None
        try:
            return mask(super().format(record))
        finally:
            record.exc_text = cached

    def formatException(self, ei: Any) -> str:
        if self.tracebacks:
            return super().formatException(ei)
        exc = ei[1]
        return one_line(f"{type(exc).__name__}: {exc}") if exc is not None else ""


def install(
    level: int, stream: TextIO, fmt: str, *, tracebacks: bool = False
) -> Callable[[], None]:
    """Log records of ``level`` and above to ``stream``, masked; returns the undo."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MaskingFormatter(fmt, tracebacks=tracebacks))
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(level)

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(before)
        with _lock:
            _forms.clear()
            _short.clear()

    return undo
