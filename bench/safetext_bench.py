"""Terminal-text sanitizer (`openclaw_board.safetext`): time per MiB of input.

    /work/venv/bin/python bench/safetext_bench.py          # median of 5 runs

`visible` is what every label, goal and error goes through; `log_text` and `LogStream`
(64 KiB reads) what `tasks logs` to a terminal does with a task's output. The hostile rows
are inputs built to make a backtracking scanner quadratic: they must stay linear.
Prints a Markdown table.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from openclaw_board.safetext import LogStream, log_text, visible

MIB = 1 << 20


def inputs() -> dict[str, str]:
    line = "2026-11-24 22:41:05 fetched page 17 of 40 (rows 1600-1700), 12.3 MB so far\n"
    return {
        "plain ASCII log": (line * (MIB // len(line) + 1))[:MIB],
        "coloured log (SGR every line)": (("\x1b[32mok\x1b[0m " + line) * (MIB // len(line)))[:MIB],
        "non-ASCII text": ("héllo wörld 日本語 ✓ " * (MIB // 20))[:MIB],
        "hostile: C1 OSC introducers": "\x9d" * MIB,
        "hostile: ESC ] repeated": "\x1b]" * (MIB // 2),
        "hostile: unterminated OSCs": ("\x1b]0;" + "a" * 60) * (MIB // 64),
    }


def _stream(text: str) -> str:
    data, stream, out = text.encode(), LogStream(), []
    for i in range(0, len(data), 64 << 10):
        out.append(stream.feed(data[i:i + (64 << 10)]))
    out.append(stream.flush())
    return "".join(out)


def _ms_per_mib(fn: Callable[[str], str], text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times) * MIB / len(text.encode())


def main(runs: int = 5) -> None:
    print("| input | MiB | visible ms/MiB | log_text ms/MiB | LogStream ms/MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, text in inputs().items():
        size = len(text.encode()) / MIB
        cells = [f"{_ms_per_mib(fn, text, runs):.0f}" for fn in (visible, log_text, _stream)]
        print(f"| {name} | {size:.1f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
