"""The terminal client keeps one browser key per user, so that a ban holds against their next run."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from signaling import protocol as p
from terminal.browser_key import KEY_FILE, config_dir, keep_browser_key, load_or_create


def test_the_key_is_made_once_readable_by_the_user_alone_and_kept_for_every_later_run(tmp_path: Path) -> None:
    folder = tmp_path / "circle"
    first = load_or_create(folder)
    assert first.problem is None
    path = folder / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert path.read_text().strip() == first.value
    assert [load_or_create(folder).value for _ in range(3)] == [first.value] * 3
    assert sorted(f.name for f in folder.iterdir()) == [KEY_FILE]


def test_the_key_is_one_the_protocol_accepts(tmp_path: Path) -> None:
    key = load_or_create(tmp_path).value
    join = p.decode("join", {"room": "r", "name": "Jo", "browser_key": key})
    assert join.browser_key == key


def test_runs_starting_together_all_use_the_one_key_that_was_kept(tmp_path: Path) -> None:
    folder = tmp_path / "circle"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_or_create(folder), range(16)))
    assert {k.value for k in keys} == {(folder / KEY_FILE).read_text().strip()}
    assert all(k.problem is None for k in keys)


def test_the_key_lives_in_xdg_config_home_or_else_in_dot_config(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert config_dir({"XDG_CONFIG_HOME": "/etc/xdg-user", "HOME": home}) == Path("/etc/xdg-user/circle")
    assert config_dir({"HOME": home}) == Path(home) / ".config" / "circle"
    # The XDG spec: an empty or relative XDG_CONFIG_HOME is ignored.
    assert config_dir({"XDG_CONFIG_HOME": "", "HOME": home}) == Path(home) / ".config" / "circle"
    assert config_dir({"XDG_CONFIG_HOME": "conf", "HOME": home}) == Path(home) / ".config" / "circle"
    key = keep_browser_key({"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": home})
    assert (tmp_path / "xdg" / "circle" / KEY_FILE).read_text().strip() == key.value
    assert not (tmp_path / "home").exists()


def test_a_damaged_key_file_is_left_alone_and_said_so(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    path.write_text("short\n")
    key = load_or_create(tmp_path)
    assert key.problem is not None and str(path) in key.problem and "delete it" in key.problem
    assert 16 <= len(key.value) <= 64
    assert path.read_text() == "short\n"


def test_a_folder_that_cannot_hold_the_key_still_gives_a_key_for_this_run(tmp_path: Path) -> None:
    (tmp_path / "circle").write_text("a file where the folder should be")
    key = load_or_create(tmp_path / "circle")
    assert key.problem is not None and str(tmp_path / "circle") in key.problem
    assert 16 <= len(key.value) <= 64
