"""``python -m bench``: the runner against the code a user would otherwise write, in the same run.

Every figure is a ratio, ours / baseline (for throughput, ours / baseline throughput), measured
in rounds that alternate the two sides; the table gives the median over rounds and the spread
(lowest and highest round). Servers run on 127.0.0.1 only, started here and stopped at the end.

    python -m bench            # the full run, about six minutes (docs/performance.md)
    python -m bench --quick    # fewer rounds and smaller bodies, about a minute
    python -m bench --smoke    # seconds: every figure's code path works; the timings mean nothing

Options: ``--only percall,export,parse,cli,manifests,sandbox,imports,windows,pages`` runs some
groups;
``--json FILE`` writes the figures;
``--dir DIR`` is where Export bodies are written (default /dev/shm, else the temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Optional

from .common import CLIENT_CPU, Figure, pin, server, worker

GROUPS = (
    "percall", "export", "parse", "cli", "manifests", "sandbox", "imports", "windows", "pages",
)  # fmt: skip
MiB = 1 << 20


@dataclass(frozen=True)
class Plan:
    name: str
    rounds: int  # per-call rounds
    calls: int  # calls per side per round
    manifests: int  # 100-step manifests per side per round
    stream_bytes: int
    stream_rounds: int
    memory_runs: int
    parse_bytes: int
    parse_rounds: int
    cli_rounds: int
    cli_runs: int
    schedule_steps: int  # steps of the manifest whose scheduling is timed
    schedule_rounds: int
    import_events: int = 1_000_000
    import_rounds: int = 3
    windows_events_per_day: int = 0  # export windows: events a day, 12 days
    windows_rounds: int = 1
    stream_mbps: float = 1.0  # the sandbox's per-connection cap
    pages_rounds: int = 1
    pages: int = 10  # pages per paginated run


# fmt: off
PLANS = {
    "full": Plan("full", 9, 500, 5, 1 << 30, 9, 3, 200 * MiB, 5, 5, 10, 10_000, 5, 1_000_000, 3,
                 2_500, 3, 0.0625, 9, 500),
    "quick": Plan("quick", 5, 200, 2, 256 * MiB, 5, 1, 50 * MiB, 3, 3, 6, 10_000, 3, 200_000, 2,
                  1_000, 2, 0.0625, 5, 200),
    "smoke": Plan("smoke", 1, 5, 1, 4 * MiB, 1, 1, 2 * MiB, 1, 1, 1, 1_000, 1, 5_000, 1,
                  200, 1, 5.0, 1, 5),
}
# fmt: on


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer rounds, smaller bodies")
    size.add_argument("--smoke", action="store_true", help="check every figure runs (seconds)")
    parser.add_argument("--only", help=f"comma-separated groups: {', '.join(GROUPS)}")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--dir", help="where Export bodies are written (default /dev/shm)")
    args = parser.parse_args(argv)
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    groups = GROUPS if not args.only else tuple(g.strip() for g in args.only.split(","))
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    parent = args.dir or _body_parent(max(plan.stream_bytes, plan.parse_bytes) * 3)
    with tempfile.TemporaryDirectory(prefix="mp-custom-action-bench-", dir=parent) as directory:
        return _run(plan, groups, directory, args.json)


def _run(plan: Plan, groups: tuple[str, ...], directory: str, json_path: Optional[str]) -> int:
    started = time.perf_counter()
    print(_machine(plan), flush=True)
    figures: list[Figure] = []
    notes: dict[str, Any] = {}
    for group in groups:
        t0 = time.perf_counter()
        figures += RUNNERS[group](plan, directory, notes)
        print(f"  {group}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(_table(figures, smoke=plan.name == "smoke"))
    for line in _details(figures, notes):
        print(line)
    took = time.perf_counter() - started
    met = all(f.met for f in figures)
    if plan.name == "smoke":
        print(f"\nsmoke run: all {len(figures)} figures ran ({took:.0f} s); timings not judged")
    else:
        print(
            f"\n{len(figures)} figures, {sum(f.met for f in figures)} met their target; {took:.0f} s"
        )
    if json_path:
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "plan": plan.name,
                    "machine": _machine(plan),
                    "seconds": took,
                    "figures": [f.to_dict() for f in figures],
                    "notes": notes,
                },
                fh,
                indent=2,
            )
    if plan.name == "smoke":
        return 0  # the smoke run checks that every figure runs, not its timings
    return 0 if met else 1


# -- the groups ------------------------------------------------------------------------------------


def run_percall(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    with server(CLIENT_CPU) as origin:
        out = worker(
            "percall",
            origin,
            "--rounds", str(plan.rounds),
            "--calls", str(plan.calls),
            "--manifests", str(plan.manifests),
            timeout=300,
        )  # fmt: skip
    specs = [
        ("call", "Runner.run: client CPU per call", "requests.Session by hand", 0.90, "us/call"),
        ("preset", "preset call: client CPU per call", "the same request as a raw card", 1.15, "us/call"),
        ("manifest", "manifest of 100 steps, 1 in 10 reads a result: per step",
         "100 raw card calls", 1.10, "us/step"),
        ("manifest-refs", "manifest of 100 steps, 1 in 2 reads a result: per step",
         "100 raw card calls", 0.0, "us/step"),
    ]  # fmt: skip
    figures = []
    for key, name, baseline, target, unit in specs:
        data = out[key]
        figure = Figure(
            name,
            baseline,
            target,
            "max",
            ratios=data["ratios"],
            detail={
                f"ours {unit}": statistics.median(data["ours_us"]),
                f"baseline {unit}": statistics.median(data["baseline_us"]),
            },
        )
        if not target:
            figure.direction = "info"
        figures.append(figure)
    return figures


def run_export(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    total = plan.stream_bytes
    ratios, ours_s, base_s, growth = [], [], [], []
    with server(CLIENT_CPU) as origin:
        for r in range(plan.stream_rounds):
            first = "ours" if r % 2 else "requests"
            out = worker("export", "stream", first, origin, str(total), directory, timeout=300)
            ours_s.append(out["ours"])
            base_s.append(out["requests"])
            ratios.append(out["requests"] / out["ours"])
        for _ in range(plan.memory_runs):
            out = worker("export", "memory", "ours", origin, str(total), directory, timeout=300)
            growth.append(out["growth"] / MiB)
    figure = Figure(
        f"Export of {_size(total)} streamed to a file: throughput",
        "requests iter_content into a file",
        0.9,
        "min",
        ratios=ratios,
        detail={
            "ours MB/s": total / statistics.median(ours_s) / 1e6,
            "baseline MB/s": total / statistics.median(base_s) / 1e6,
        },
        extra=("peak memory growth (MiB, highest run)", max(growth), 32.0),
    )
    notes["export_dir"] = directory
    notes["export_growth_mib"] = growth
    return [figure]


def run_parse(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    from .server import export_body, jsonl_block

    total = plan.parse_bytes
    path = os.path.join(directory, f"bench-parse-{os.getpid()}.jsonl")
    with open(path, "wb") as fh:
        for piece in export_body(total, jsonl_block()):
            fh.write(piece)
    parsers = ["json"] + (["orjson"] if _has_orjson() else [])
    figures = []
    try:
        with server(CLIENT_CPU) as origin:
            for parser in parsers:
                ratios, ours_s, base_s, ways = [], [], [], []
                for r in range(plan.parse_rounds):
                    order = ["ours", "file"] if r % 2 else ["file", "ours"]
                    got = {}
                    for impl in order:
                        got[impl] = worker(
                            "export", "parse", impl, origin, str(total), path,
                            "--parser", parser, timeout=300,
                        )  # fmt: skip
                    ours_s.append(got["ours"]["seconds"])
                    base_s.append(got["file"]["seconds"])
                    ways.append(
                        "per line" if got["file"]["per_line"] <= got["file"]["blocks"] else "blocks"
                    )
                    ratios.append(base_s[-1] / ours_s[-1])
                size = os.path.getsize(path)
                figures.append(
                    Figure(
                        f"Export of {_size(total)} parsed to a list ({parser}): throughput",
                        f"{parser} on the same bytes from a file",
                        0.8,
                        "min",
                        ratios=ratios,
                        detail={
                            "ours MB/s": size / statistics.median(ours_s) / 1e6,
                            "baseline MB/s": size / statistics.median(base_s) / 1e6,
                        },
                        note=f"baseline's faster way per round: {', '.join(ways)}",
                    )
                )
    finally:
        os.unlink(path)
    return figures


def run_cli(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    from .startup import measure

    pin(CLIENT_CPU)
    try:
        out = measure(plan.cli_rounds, plan.cli_runs)
    finally:
        pin_all()
    notes["cli_command"] = out["command"]
    specs = [
        ("cli-version", "CLI cold start: --version", "python -c pass", 2.0),
        ("cli-dry-run", "CLI cold start: call ... --dry-run",
         'python -c "import requests"', 1.2),
    ]  # fmt: skip
    figures = []
    for key, name, baseline, target in specs:
        data = out[key]
        figures.append(
            Figure(
                name,
                baseline,
                target,
                "max",
                ratios=data["ratios"],
                detail={
                    "ours ms": statistics.median(data["ours_ms"]),
                    "baseline ms": statistics.median(data["baseline_ms"]),
                },
            )
        )
    return figures


def run_manifests(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    big, small = plan.schedule_steps, max(1, plan.schedule_steps // 10)
    rounds = str(plan.schedule_rounds)
    out = {
        n: worker("manifests", "--steps", str(n), "--rounds", rounds, timeout=300)
        for n in (big, small)
    }
    per_step_us = {n: [1e6 * s / n for s in data["parallel_s"]] for n, data in out.items()}
    growth = [b / s for b, s in zip(per_step_us[big], per_step_us[small])]
    return [
        Figure(
            f"manifest of {big:,} Query steps, --parallel 8, instant runner: run time",
            "the same steps in order",
            15.0,
            "max",
            ratios=out[big]["ratios"],
            detail={
                "parallel us/step": statistics.median(per_step_us[big]),
                "in order us/step": statistics.median(1e6 * s / big for s in out[big]["ordered_s"]),
            },
            note="what is left without sockets: scheduling and the pool's thread hand-offs",
        ),
        Figure(
            f"--parallel scheduling cost per step: {big:,} steps / {small:,} steps",
            "cost per step at a tenth of the steps",
            1.5,
            "max",
            ratios=growth,
            detail={
                f"us/step at {big:,}": statistics.median(per_step_us[big]),
                f"us/step at {small:,}": statistics.median(per_step_us[small]),
            },
            note="1.0: linear in steps (a rescan of the waiting steps per completion grows it)",
        ),
    ]


def run_sandbox(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    """The sandbox under 16 concurrent keep-alive clients: HTTPS throughput against plain HTTP."""
    rounds = min(plan.rounds, 5)
    calls = max(2, plan.calls // 4)
    out = worker("sandbox", "--rounds", str(rounds), "--calls", str(calls), timeout=300)
    ratios = [tls / plain for tls, plain in zip(out["tls"], out["plain"])]
    return [
        Figure(
            "sandbox, 16 concurrent clients: HTTPS / plain requests a second",
            "the same sandbox over plain HTTP",
            0.0,
            "info",
            unit="ratio",
            ratios=ratios,
            detail={
                "plain req/s": statistics.median(out["plain"]),
                "tls req/s": statistics.median(out["tls"]),
            },
            note=f"{calls} keep-alive calls per client per round",
        )
    ]


def run_windows(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    from .exports import env_for, sandbox

    ratios, single_s, parallel_s, growth = [], [], [], []
    size = 0
    with sandbox(plan.stream_mbps, plan.windows_events_per_day) as info:
        env = env_for(info)
        for r in range(plan.windows_rounds):
            got = {}
            for mode in ("single", "parallel") if r % 2 == 0 else ("parallel", "single"):
                got[mode] = worker(
                    "exports", "run", mode, info["origin"], directory, timeout=300, env=env
                )
            single_s.append(got["single"]["seconds"])
            parallel_s.append(got["parallel"]["seconds"])
            growth.append(got["parallel"]["growth"] / MiB)
            ratios.append(single_s[-1] / parallel_s[-1])
            size = got["parallel"]["bytes"]
    return [
        Figure(
            f"Export of 12 windows ({_size(size)}), parallel 6, at {plan.stream_mbps:g} MB/s "
            "(gzipped) a connection: throughput",
            "the same range as one stream",
            5.0,
            "min",
            ratios=ratios,
            detail={
                "parallel MB/s": size / statistics.median(parallel_s) / 1e6,
                "single MB/s": size / statistics.median(single_s) / 1e6,
            },
            extra=("peak memory growth, parallel (MiB, highest run)", max(growth), 32.0),
        )
    ]


def run_pages(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    with server(CLIENT_CPU) as origin:
        out = worker(
            "pages", origin, "--rounds", str(plan.pages_rounds), "--pages", str(plan.pages),
            timeout=300,
        )  # fmt: skip
    return [
        Figure(
            "paginate (Query engage, 10 records a page): client CPU per page",
            "a requests loop by hand",
            1.10,
            "max",
            ratios=out["ratios"],
            detail={
                "ours us/page": statistics.median(out["ours_us"]),
                "baseline us/page": statistics.median(out["baseline_us"]),
            },
        )
    ]


def run_imports(plan: Plan, directory: str, notes: dict[str, Any]) -> list[Figure]:
    from .imports import run_group

    return run_group(plan.import_events, plan.import_rounds, directory, notes)


RUNNERS = {
    "percall": run_percall,
    "export": run_export,
    "parse": run_parse,
    "cli": run_cli,
    "manifests": run_manifests,
    "sandbox": run_sandbox,
    "imports": run_imports,
    "windows": run_windows,
    "pages": run_pages,
}


# -- report ----------------------------------------------------------------------------------------


def _table(figures: list[Figure], *, smoke: bool = False) -> str:
    rows = [("figure", "baseline, same run", "median", "spread", "target", "met")]
    for f in figures:
        low, high = f.spread
        if f.direction == "info":
            target, met = "(none)", "-"
        else:
            target = ("<= " if f.direction == "max" else ">= ") + f"{f.target:g}"
            met = "-" if smoke else "yes" if f.met else "NO"
        rows.append((f.name, f.baseline, f"{f.median:.3f}", f"{low:.3f}-{high:.3f}", target, met))
        if f.extra is not None:
            label, value, limit = f.extra
            ok = "-" if smoke else "yes" if value < limit else "NO"
            rows.append((f"  {label}", "", f"{value:.1f}", "", f"< {limit:g}", ok))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _details(figures: list[Figure], notes: dict[str, Any]) -> list[str]:
    lines = ["", "absolute figures (medians over rounds):"]
    for f in figures:
        shown = ", ".join(f"{k} {v:,.1f}" for k, v in f.detail.items())
        lines.append(f"  {f.name}: {shown}" + (f"; {f.note}" if f.note else ""))
    if "cli_command" in notes:
        lines.append(f"  command timed: {notes['cli_command']}")
    if "export_dir" in notes:
        lines.append(f"  Export bodies written in {notes['export_dir']}")
    if "mixpanel_utils" in notes:
        lines.append(f"  mixpanel-utils: {notes['mixpanel_utils']}")
    return lines


def _machine(plan: Plan) -> str:
    import requests
    import urllib3

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"mp-custom-action benchmark ({plan.name}): {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"requests {requests.__version__}, urllib3 {urllib3.__version__}, "
        f"{_optional('orjson')}, {_optional('isal')} (the fast extra)"
    )


def _optional(name: str) -> str:
    """``name VERSION`` if that optional package is installed here, else ``no name``."""
    from importlib import metadata

    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return f"no {name}"


def _has_orjson() -> bool:
    try:
        import orjson  # noqa: F401
    except ImportError:
        return False
    return True


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / MiB:.3g} MiB"


def _body_parent(need: int) -> str:
    """Shared memory when it has room (no disk write-back in the figures), else the temp folder."""
    shm = os.path.join(os.sep, "dev", "shm")
    for candidate in (shm, tempfile.gettempdir()):
        usable = os.path.isdir(candidate) and os.access(candidate, os.W_OK)
        if usable and shutil.disk_usage(candidate).free > need:
            return candidate
    return tempfile.gettempdir()


def pin_all() -> None:
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
