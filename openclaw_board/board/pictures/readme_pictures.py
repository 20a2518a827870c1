"""The README's pictures, made from the demo at fixed times: `python -m openclaw_board.board.pictures.readme_pictures`.

Every picture comes from one ledger built by `demo_data.play_script` with a fixed start
time and seeded ids, drawn with the board's clock fixed at the end of the story (or at a
moment in it, for time travel). Run it twice and the files are byte-identical. It works
in a private temporary state directory, so your own themes and settings do not leak in.

    python -m openclaw_board.board.pictures.readme_pictures [--out screenshots] [--png]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from .svg import Shot

START_MS = 1_795_000_000_000  # 2026-11-18T11:06:40Z: a fixed moment, so every age and elapsed time is the same
SEED = 4
DEFAULT_OUT = Path(__file__).resolve().parents[3] / "screenshots"


@contextmanager
def seeded_ids(seed: int = SEED) -> Iterator[None]:
    """Ids from a seeded generator: the pictures show ids, and must not change between runs."""
    rng = random.Random(seed)
    saved = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
    try:
        yield
    finally:
        uuid.uuid4 = saved


def build_demo(where: Path) -> tuple[str, int]:
    """The demo ledger moved to a fixed moment, and a log for the inspector picture."""
    from ...ledger import Ledger
    from ..demo_data import play_script

    url = f"sqlite:///{where / 'ledger.db'}"
    with seeded_ids(), Ledger(url) as ledger:
        end = play_script(ledger, where / "work", START_MS)
    task = _task(url, "research", "fetch-globex")
    run_dir = Path(task.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(1, 6):
        lines += [f"GET https://globex.example/pricing?page={i} -> 200 ({14 + 3 * i} KiB)",
                  f"globex.example: page {i}/8 done", f"::progress {i * 100 // 8} page {i}/8"]
    (run_dir / "output.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return url, end


def _task(url: str, flow_label: str, label: str) -> Any:
    """A task row by its flow's and its own label."""
    from ...ledger import Ledger

    with Ledger(url) as ledger:
        flow = next(f for f in ledger.list_flows() if f.label == flow_label)
        return next(t for t in ledger.latest_attempts(flow.flow_id) if t.label == label)


def pictures(url: str, end: int) -> dict[str, Shot]:
    """File name -> Shot: what the README shows."""
    research = _task(url, "research", "fetch-globex")
    leads = _task(url, "leads", "enrich-1")
    report = _task(url, "report", "email")
    base = Shot(clock_ms=end, title="demo", theme="openclaw-dark")
    return {
        "board.svg": replace(base, size=(120, 36)),
        "flow-expanded.svg": replace(base, size=(120, 12), flow_id=research.flow_id),
        "inspector-log.svg": replace(base, size=(100, 30), select=f"t:{research.flow_id}:fetch-globex", keys=("l",)),
        "confirm-cancel.svg": replace(base, size=(100, 30), select=f"f:{leads.flow_id}", keys=("c",)),
        "ansi-80x24.svg": replace(base, size=(80, 24), theme="ansi"),
        "time-travel.svg": replace(base, size=(120, 30), clock_ms=START_MS + 5_500, at=START_MS + 5_500),
        "replay.svg": replace(base, size=(110, 30), select=f"f:{report.flow_id}", keys=("t", *["left"] * 7)),
        "split-view.svg": replace(base, size=(200, 40), select=f"f:{research.flow_id}", keys=("v",)),
    }


def make_all(out: Path, png: bool = False) -> list[Path]:
    from .files import write_picture
    from .svg import render_svg

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="openclaw-board-shots-") as tmp:
        home = Path(tmp)
        saved = {k: os.environ.pop(k, None) for k in ("OPENCLAW_BOARD_HOME", "OPENCLAW_BOARD_THEME")}
        os.environ["OPENCLAW_BOARD_HOME"] = str(home / "home")
        try:
            url, end = build_demo(home)
            for name, shot in pictures(url, end).items():
                svg = render_svg(url, shot)
                target = out / name
                write_picture(svg, target, title="openclaw-board")
                os.chmod(target, 0o644)  # pictures for the repository, not private state
                written.append(target)
                if png:
                    write_picture(svg, target.with_suffix(".png"))
                    os.chmod(target.with_suffix(".png"), 0o644)
                    written.append(target.with_suffix(".png"))
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None)
                if value is not None:
                    os.environ[key] = value
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openclaw_board.board.pictures.readme_pictures",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="directory (default: the repository's screenshots/)")
    parser.add_argument("--png", action="store_true", help="also write PNGs (needs cairosvg)")
    args = parser.parse_args(argv)
    for path in make_all(args.out, png=args.png):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
