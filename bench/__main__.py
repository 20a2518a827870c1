"""`python -m bench`: run every benchmark, print one Markdown table, optionally write JSON.

    python -m bench                      # full run (several minutes; 3 runs of each figure)
    python -m bench --quick              # smoke run, under two minutes (1 run, small sizes)
    python -m bench --json out.json      # the same table as JSON
    python -m bench --only dispatch board --runs 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import board, cancel, dispatch, history, ledger_ops, listing, recovery
from .common import LoadSampler, Row, machine, markdown_table, skipped

SECTIONS: dict[str, Callable[[bool, int], list[Row]]] = {
    "dispatch": dispatch.run,
    "history": history.run,
    "ledger": ledger_ops.run,
    "board": board.run,
    "listing": listing.run,
    "recovery": recovery.run,
    "cancel": cancel.run,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one run each: under two minutes")
    ap.add_argument("--json", metavar="PATH", type=Path, help="also write the results as JSON to PATH")
    ap.add_argument("--only", nargs="+", choices=list(SECTIONS), metavar="SECTION",
                    help=f"run only these sections ({', '.join(SECTIONS)})")
    ap.add_argument("--runs", type=int, help="runs per figure (default: 3, or 1 with --quick)")
    args = ap.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be at least 1")
    return args


def describe(info: dict, load: dict[str, float], seconds: float, quick: bool) -> str:
    pkgs = ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v)
    mem = f"{info['mem_total_gb']:.1f} GB" if info["mem_total_gb"] else "unknown memory"
    return (f"{info['date']} · {'quick' if quick else 'full'} run in {seconds:.0f} s · {info['nproc']} CPUs "
            f"({info['cpu_model']}), {mem} · load average 1 min: median {load['median']:.2f} "
            f"(min {load['min']:.2f}, max {load['max']:.2f}) · Linux {info['kernel']} · Python {info['python']}, "
            f"SQLite {info['sqlite']} · {pkgs}")


def compile_package() -> None:
    """Write openclaw_board's bytecode before measuring: an installed package has it (pip
    compiles a wheel's modules; an editable install writes them on its first run), but where
    PYTHONDONTWRITEBYTECODE is set (this sandbox sets it) nothing ever would, and every CLI call
    measured would compile its ~150 modules from source: 70 ms of CPU each, no user's cost."""
    import compileall

    import openclaw_board

    compileall.compile_dir(str(Path(openclaw_board.__file__).parent), quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    compile_package()
    runs = args.runs or (1 if args.quick else 3)
    rows: list[Row] = []
    failed = False
    t0 = time.perf_counter()
    with LoadSampler() as load:
        for name in args.only or list(SECTIONS):
            started = time.perf_counter()
            print(f"running {name}...", file=sys.stderr, flush=True)
            try:
                rows += SECTIONS[name](args.quick, runs)
            except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others
                failed = True
                traceback.print_exc(file=sys.stderr)
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                rows.append(skipped(name, "(whole section)", f"failed: {first}"))
            print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    info = machine()
    print(describe(info, load.summary(), seconds, args.quick))
    print()
    print(markdown_table(rows))
    if args.json:
        doc = {"quick": args.quick, "runs": runs, "seconds": seconds, "machine": info,
               "load_average_1min": load.summary(), "rows": [row.as_json() for row in rows]}
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
