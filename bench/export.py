"""Export figures, each measurement in a fresh interpreter.

``python -m bench.export stream ours|requests ORIGIN BYTES DIR``: after one untimed download
(which warms the memory pages a 1 GB file takes: on a virtual machine, memory touched for the
first time in a while costs a host page fault, and the first gigabyte written runs anywhere from
0.5 to 3.5 GB/s), the runner and ``requests`` ``iter_content`` each stream the body to a file in
DIR, the named one first; print both times.

``python -m bench.export memory ORIGIN BYTES DIR``: the runner alone; print the peak memory growth
(``ru_maxrss`` after the download minus the RSS just before it).

``python -m bench.export parse ours|file ORIGIN BYTES PATH --parser json|orjson``: the body
parsed into a list of objects, by the runner from the server, or from the file at PATH (the
same bytes) by the parser alone, the faster of a line at a time and 1 MiB arrays of lines.
``--parser json`` hides orjson from this interpreter, so both sides use the standard library.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from typing import Any, Callable

from .common import CLIENT_CPU, PROJECT_ID, SECRET, USERNAME, emit, pin

EXPORT_QUERY = {"from_date": "2024-01-01", "to_date": "2024-01-31"}


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _inputs(total: int) -> dict[str, Any]:
    return {
        "method": "GET",
        "api": "export",
        "relative_url": "",
        "query": {**EXPORT_QUERY, "bytes": str(total)},
    }


def warm_memory(nbytes: int) -> None:
    """Touch and free ``nbytes`` of memory, so the parse that follows gets warm pages."""
    block = b"\1" * nbytes
    del block


def _stream_ours(origin: str, total: int, path: str) -> int:
    from mp_custom_action.core.runner import Runner

    with Runner(
        origin=origin, username=USERNAME, secret=SECRET, project_id=PROJECT_ID, env={}, retries=0
    ) as runner:
        result = runner.run(_inputs(total), output=path)
    assert result.status_code == 200
    return result.body_bytes or 0


def _stream_requests(origin: str, total: int, path: str) -> int:
    import requests

    # What a user writes: a streamed GET, iter_content in 1 MiB chunks, written to a file.
    params = {**EXPORT_QUERY, "bytes": str(total), "project_id": str(PROJECT_ID)}
    written = 0
    with (
        requests.Session() as session,
        session.get(
            f"{origin}/api/2.0/export", params=params, auth=(USERNAME, SECRET), stream=True
        ) as response,
    ):
        response.raise_for_status()
        with open(path, "wb") as out:
            for chunk in response.iter_content(chunk_size=1 << 20):
                out.write(chunk)
                written += len(chunk)
    return written


def stream(first: str, origin: str, total: int, directory: str) -> dict[str, Any]:
    """Both sides in turn, ``first`` first, after untimed downloads that warm pages and code."""
    warm = os.path.join(directory, f"warm-{os.getpid()}.jsonl")
    _stream_requests(origin, total, warm)
    # Both sides once more on a small body: imports and first-call costs stay out of the timing.
    for side in (_stream_ours, _stream_requests):
        side(origin, 1 << 20, warm)
    os.unlink(warm)
    out: dict[str, Any] = {"bytes": total}
    order = ["ours", "requests"] if first == "ours" else ["requests", "ours"]
    for impl in order:
        path = os.path.join(directory, f"export-{impl}-{os.getpid()}.jsonl")
        start = time.perf_counter()
        written = (_stream_ours if impl == "ours" else _stream_requests)(origin, total, path)
        out[impl] = time.perf_counter() - start
        assert os.path.getsize(path) == written == _expected_size(total)
        os.unlink(path)
    return out


def memory(origin: str, total: int, directory: str) -> dict[str, Any]:
    """Peak memory growth of the runner streaming the body to a file, in a fresh process.

    ``ru_maxrss`` is the process's peak; measured here it covers only the import (done before
    the baseline RSS is read) and the download.
    """
    import requests  # noqa: F401 - loaded before the baseline, like everything the call needs

    import mp_custom_action.core.runner
    import mp_custom_action.core.transport  # noqa: F401

    path = os.path.join(directory, f"export-memory-{os.getpid()}.jsonl")
    before = _rss()
    written = _stream_ours(origin, total, path)
    growth = max(0, _peak() - before)
    os.unlink(path)
    return {"bytes": written, "growth": growth}


def _expected_size(total: int) -> int:
    from .server import export_body, jsonl_block

    block = jsonl_block()
    whole = total // len(block)
    tail = sum(len(piece) for piece in export_body(total - whole * len(block), block))
    return whole * len(block) + tail


def _file_per_line(path: str, loads: Callable[[bytes], Any]) -> list[Any]:
    with open(path, "rb") as fh:
        return [loads(line) for line in fh if line.strip()]


def _file_blocks(path: str, loads: Callable[[bytes], Any]) -> list[Any]:
    # The fastest way we found to feed a parser JSON Lines: a megabyte of lines as one array.
    out: list[Any] = []
    rest = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            end = chunk.rfind(b"\n")
            block, rest = rest + chunk[:end], chunk[end + 1 :]
            out.extend(loads(b"".join((b"[", block.replace(b"\n", b","), b"]"))))
    if rest.strip():
        out.append(loads(rest))
    return out


def parse(impl: str, origin: str, total: int, path: str) -> dict[str, Any]:
    """Ours from the server, or the baseline from the file: the faster of two ways to parse it.

    Each timing ends with a full collection, so garbage-collector work that either side leaves
    for later (the runner pauses the collector while it parses a large body) is counted.
    """
    from mp_custom_action.core import results

    out: dict[str, Any] = {"bytes": os.path.getsize(path)}
    if impl == "ours":
        from mp_custom_action.core.runner import Runner

        runner = Runner(
            origin=origin,
            username=USERNAME,
            secret=SECRET,
            project_id=PROJECT_ID,
            env={},
            retries=0,
            max_body_bytes=2 * total + (1 << 20),
        )
        request = runner.prepare(_inputs(total))
        warm_memory(10 * total)  # the parsed objects take several times the body
        gc.collect()
        start = time.perf_counter()
        body = runner.send(request).body
        gc.collect()
        out["seconds"] = time.perf_counter() - start
        runner.close()
        assert isinstance(body, list) and body and isinstance(body[-1], dict)
        out["records"] = len(body)
        return out
    loads = results._loads  # the parser this interpreter has: orjson if present, else json
    for name, way in (("per_line", _file_per_line), ("blocks", _file_blocks)):
        warm_memory(10 * total)
        gc.collect()
        start = time.perf_counter()
        body = way(path, loads)
        gc.collect()
        out[name] = time.perf_counter() - start
        assert isinstance(body, list) and body and isinstance(body[-1], dict)
        out["records"] = len(body)
        del body
    out["seconds"] = min(out["per_line"], out["blocks"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export")
    parser.add_argument("what", choices=("stream", "memory", "parse"))
    parser.add_argument("impl", choices=("ours", "requests", "file"), help="stream: which first")
    parser.add_argument("origin")
    parser.add_argument("bytes", type=int)
    parser.add_argument("path", help="stream: the directory to write in; parse: the body's file")
    parser.add_argument("--parser", choices=("json", "orjson"), default="orjson")
    args = parser.parse_args()
    if args.parser == "json":
        sys.modules["orjson"] = None  # type: ignore[assignment]  # import orjson now fails
    pin(CLIENT_CPU)
    if args.what == "stream":
        emit(stream(args.impl, args.origin, args.bytes, args.path))
    elif args.what == "memory":
        emit(memory(args.origin, args.bytes, args.path))
    else:
        emit(parse(args.impl, args.origin, args.bytes, args.path))


if __name__ == "__main__":
    main()
