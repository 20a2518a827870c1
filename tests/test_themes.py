"""Themes: the shipped files, bad files, user overrides, the choice of theme, live reload, packaging."""

from __future__ import annotations

import asyncio
import json
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widgets import Static

from openclaw_board.board.theme import theme_files as th
from openclaw_board.ledger.states import TASK_STATUSES

REPO = Path(__file__).resolve().parent.parent
SHIPPED = ("ansi", "high-contrast", "openclaw-dark", "openclaw-light")
GOOD = 'primary = "#112233"\n'


class Swatches(App):
    """Every status in its theme colour: as text, and as a solid block the snapshot cannot miss."""

    CSS = (
        "\n".join(
            f".{s} .label {{ color: $status-{s}; }} .{s} .block {{ background: $status-{s}; }}" for s in TASK_STATUSES
        )
        + "\nStatic { height: 1; width: auto; } .row { height: 1; } .block { width: 6; }"
    )

    def __init__(self, theme_set: th.ThemeSet, theme_name: str) -> None:
        super().__init__()
        th.register_themes(self, theme_set)
        self.theme = theme_name

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        yield Static(f"theme {self.theme}", id="title")
        for s in TASK_STATUSES:
            with Horizontal(classes=f"row {s}"):
                yield Static("      ", classes="block")
                yield Static(f" {s}", id=f"label-{s}", classes="label")


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_theme_loads_and_names_every_status(tmp_path: Path) -> None:
    files = sorted(th.SHIPPED_DIR.glob("*.toml"))
    assert [f.stem for f in files] == list(SHIPPED)
    theme_set = th.load_themes(tmp_path / "no-user-themes")
    assert theme_set.errors == []
    for path in files:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        assert sorted(raw["status"]) == sorted(TASK_STATUSES), path  # shipped themes rely on no fallback
        theme = theme_set.themes[path.stem]
        assert theme_set.sources[path.stem] == path
        colors = th.status_colors(theme)
        assert list(colors) == list(TASK_STATUSES)
        for s in TASK_STATUSES:
            assert colors[s] == Color.parse(raw["status"][s]).hex
            assert theme.variables[f"status-{s}"] == colors[s]
    ansi = theme_set.themes["ansi"]
    assert ansi.ansi is True
    assert all(c.startswith("ansi_") for c in th.status_colors(ansi).values())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_theme_renders(name: str, tmp_path: Path, snap_compare) -> None:
    theme_set = th.load_themes(tmp_path / "no-user-themes")
    assert snap_compare(Swatches(theme_set, name), terminal_size=(40, 11))


def test_switching_themes_restyles_with_status_colours(tmp_path: Path) -> None:
    asyncio.run(_switch_themes(tmp_path))


async def _switch_themes(tmp_path: Path) -> None:
    theme_set = th.load_themes(tmp_path / "no-user-themes")
    app = Swatches(theme_set, "openclaw-dark")
    async with app.run_test() as pilot:
        for name in (*SHIPPED, "nord", "textual-light"):  # Textual's built-ins get derived status colours
            app.theme = name
            await pilot.pause()
            expected = th.status_colors(theme_set.themes[name])
            for s in TASK_STATUSES:
                assert app.theme_variables[f"status-{s}"] == expected[s]
            if name != "ansi":  # ansi colours are resolved by the terminal, not here
                label = app.query_one("#label-failed")
                assert label.styles.color.hex == expected["failed"]


BAD_FILES = [
    ("bad-toml", 'primary = "#112233\n', "bad TOML"),
    ("unknown-key", GOOD + 'primay = "#112233"\n', "unknown key 'primay'"),
    ("bad-colour", 'primary = "#11223"\n', "bad colour '#11223' for key 'primary'"),
    ("bad-name-colour", 'primary = "blurple"\n', "bad colour 'blurple' for key 'primary'"),
    ("missing-key", 'secondary = "#112233"\n', "missing required key 'primary'"),
    ("wrong-type-colour", "primary = 3\n", "key 'primary' must be a colour string"),
    ("wrong-type-bool", GOOD + 'dark = "yes"\n', "key 'dark' must be true or false"),
    ("status-not-table", GOOD + 'status = "red"\n', "'status' must be a table"),
    ("unknown-status", GOOD + '[status]\nrunnin = "red"\n', "unknown status 'runnin'"),
    (
        "bad-status-colour",
        GOOD + '[status]\nfailed = "ansi_reddish"\n',
        "bad colour 'ansi_reddish' for key 'status.failed'",
    ),
    ("bad-variable", GOOD + '[variables]\nborder = "nope"\n', "bad colour 'nope' for key 'variables.border'"),
    ("bad-theme-name", GOOD + 'name = "my theme"\n', "bad theme name 'my theme'"),
]


@pytest.mark.parametrize("stem,text,reason", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_theme_file_is_reported_once_and_skipped(tmp_path: Path, stem: str, text: str, reason: str) -> None:
    user = tmp_path / "themes"
    bad = write(user, f"{stem}.toml", text)
    write(user, "fine.toml", GOOD)
    theme_set = th.load_themes(user)
    assert len(theme_set.errors) == 1
    error = theme_set.errors[0]
    assert str(bad) in error and reason in error, error
    assert "\n" not in error
    assert stem not in theme_set.themes
    assert "fine" in theme_set.themes and "openclaw-dark" in theme_set.themes


def test_missing_status_colours_fall_back_to_the_theme_colours(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    write(user, "short.toml", 'primary = "#112233"\nerror = "#AA0000"\nsuccess = "green"\n[status]\nlost = "#FF00FF"\n')
    colors = th.status_colors(th.load_themes(user).themes["short"])
    assert colors["failed"] == colors["timed_out"] == "#AA0000"
    assert colors["succeeded"] == Color.parse("green").hex
    assert colors["lost"] == "#FF00FF"
    assert colors["running"] == "#112233"  # primary: the last resort


def test_user_themes_override_and_add(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    mine = write(user, "openclaw-dark.toml", 'primary = "#ABCDEF"\n')
    extra = write(user, "whatever.toml", 'name = "midnight"\ndark = false\n' + GOOD)
    write(user, ".#whatever.toml", "an editor's lock file [")  # hidden files are not themes
    theme_set = th.load_themes(user)
    assert theme_set.errors == []
    assert theme_set.themes["openclaw-dark"].primary == "#ABCDEF"
    assert theme_set.sources["openclaw-dark"] == mine
    assert theme_set.sources["midnight"] == extra and theme_set.themes["midnight"].dark is False
    assert theme_set.sources["openclaw-light"] == th.SHIPPED_DIR / "openclaw-light.toml"


def test_two_files_with_one_name_in_one_directory(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    first = write(user, "a.toml", 'name = "twin"\n' + GOOD)
    second = write(user, "b.toml", 'name = "twin"\nprimary = "#000000"\n')
    theme_set = th.load_themes(user)
    assert theme_set.errors == [f"bad theme file {second}: theme 'twin' is already defined by {first}"]
    assert theme_set.themes["twin"].primary == "#112233"


def test_default_user_dir_is_in_the_state_dir(home: Path) -> None:
    write(home / "themes", "homemade.toml", GOOD)
    assert th.load_themes().sources["homemade"] == home / "themes" / "homemade.toml"
    assert th.theme_dirs() == [th.SHIPPED_DIR, home / "themes"]


def test_theme_choice_precedence_and_memory(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    theme_set = th.load_themes()
    assert th.choose_theme(theme_set) == "openclaw-dark"
    th.remember_theme("openclaw-light")
    assert th.choose_theme(theme_set) == "openclaw-light"
    monkeypatch.setenv("OPENCLAW_BOARD_THEME", "ansi")
    assert th.choose_theme(theme_set) == "ansi"
    assert th.choose_theme(theme_set, "high-contrast") == "high-contrast"

    settings = home / "settings.json"
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert json.loads(settings.read_text()) == {"theme": "openclaw-light"}


def test_unknown_theme_names_are_refused_with_the_list(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    theme_set = th.load_themes()
    with pytest.raises(th.ThemeError) as err:
        th.choose_theme(theme_set, "solarised")
    message = str(err.value)
    assert message.startswith("unknown theme 'solarised' (from --theme); available: ")
    assert all(name in message for name in SHIPPED)
    monkeypatch.setenv("OPENCLAW_BOARD_THEME", "nope")
    with pytest.raises(th.ThemeError, match=r"unknown theme 'nope' \(from OPENCLAW_BOARD_THEME\)"):
        th.choose_theme(theme_set)


def test_remembered_theme_that_has_gone_falls_back(home: Path) -> None:
    write(home / "themes", "gone.toml", GOOD)
    th.remember_theme("gone")
    assert th.choose_theme(th.load_themes()) == "gone"
    (home / "themes" / "gone.toml").unlink()
    assert th.choose_theme(th.load_themes()) == "openclaw-dark"


def test_remembering_keeps_other_settings_and_survives_a_damaged_file(home: Path) -> None:
    home.mkdir(mode=0o700)
    settings = home / "settings.json"
    settings.write_text('{"other": 1}')
    th.remember_theme("ansi")
    assert json.loads(settings.read_text()) == {"other": 1, "theme": "ansi"}
    settings.write_text("{not json")
    assert th.remembered_theme() is None
    th.remember_theme("high-contrast")
    assert th.remembered_theme() == "high-contrast"


def test_a_theme_file_changed_on_disk_is_applied_live(tmp_path: Path) -> None:
    asyncio.run(_live_reload(tmp_path))


async def _live_reload(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    path = write(user, "live.toml", GOOD + '[status]\nfailed = "#FF0000"\n')
    app = Swatches(th.load_themes(user), "live")
    async with app.run_test() as pilot:
        label = app.query_one("#label-failed")
        assert label.styles.color.hex == "#FF0000"

        path.write_text(GOOD + '[status]\nfailed = "#00FF00"\n')
        theme = th.reload_theme_file(path)
        assert isinstance(theme, th.Theme)
        th.apply_theme(app, theme)
        await pilot.pause()
        assert app.theme_variables["status-failed"] == "#00FF00"
        assert label.styles.color.hex == "#00FF00"

        path.write_text('primary = "#zz"\n')
        error = th.reload_theme_file(path)
        assert error == f"bad theme file {path}: bad colour '#zz' for key 'primary' " + error.split("'primary' ", 1)[1]
        assert label.styles.color.hex == "#00FF00"  # the last good version stays


def test_watching_reports_changed_added_and_broken_theme_files(tmp_path: Path) -> None:
    asyncio.run(_watch(tmp_path))


async def _watch(tmp_path: Path) -> None:
    user = tmp_path / "themes"  # does not exist yet: the watcher makes it, so new files are seen
    theme_set = th.load_themes(user)
    events = th.watch_theme_changes(theme_set, user, debounce_ms=50)
    pending = asyncio.ensure_future(anext(events))
    while not user.exists():
        await asyncio.sleep(0.01)
    assert stat.S_IMODE(user.stat().st_mode) == 0o700

    async def change(name: str, text: str, done) -> th.Theme | str:
        # The watcher may start after a write: write again until the report we want arrives.
        nonlocal pending
        while True:
            while not pending.done():
                (user / name).write_text(text)
                await asyncio.wait([pending], timeout=0.3)
            path, result = pending.result()
            pending = asyncio.ensure_future(anext(events))
            if path.name == name and done(result):
                return result

    added = await change("new.toml", GOOD, lambda r: isinstance(r, th.Theme))
    assert added.name == "new" and theme_set.themes["new"].primary == "#112233"
    edited = await change(
        "new.toml", 'primary = "#445566"\n', lambda r: isinstance(r, th.Theme) and r.primary != "#112233"
    )
    assert edited.primary == "#445566" and theme_set.themes["new"].primary == "#445566"
    broken = await change("new.toml", "primary = [", lambda r: isinstance(r, str))
    assert broken.startswith(f"bad theme file {user.resolve() / 'new.toml'}: bad TOML")
    assert theme_set.themes["new"].primary == "#445566"  # the last good version stays
    pending.cancel()
    await asyncio.wait([pending])
    await events.aclose()


def test_shipped_themes_are_package_data() -> None:
    package_dir = REPO / "openclaw_board"
    assert th.SHIPPED_DIR == package_dir / "themes"
    assert sorted(p.name for p in (package_dir / "themes").glob("*.toml")) == sorted(
        p.name for p in (REPO / "themes").glob("*.toml")
    )
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "themes/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["openclaw_board"]


@pytest.mark.slow
def test_the_wheel_carries_the_theme_files(tmp_path: Path) -> None:
    # Build from a copy (symlinks kept as symlinks) so that build/ and egg-info never land in the work tree.
    source = tmp_path / "src"
    skip = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", ".*cache*", "__pycache__", "tests", "bench")
    shutil.copytree(REPO, source, symlinks=True, ignore=skip)
    assert (source / "openclaw_board" / "themes").is_symlink()
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "-w", str(out), "--no-deps", "-q"],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for stem in SHIPPED:
        assert f"openclaw_board/themes/{stem}.toml" in names
