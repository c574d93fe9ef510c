"""Atomic writes of files and directories: whole or not at all, and never any litter."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lobsim._atomic import atomic_dir, atomic_file, leftovers, move_into_place


class Boom(Exception):
    pass


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()
    }


def test_a_file_is_written_in_place(tmp_path):
    target = tmp_path / "out.txt"

    with atomic_file(target) as tmp:
        assert tmp.parent == tmp_path and tmp.exists()
        tmp.write_text("new")

    assert target.read_text() == "new"
    assert _listing(tmp_path) == ["out.txt"]


def test_a_file_gets_the_permissions_of_a_plain_write(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")

    with atomic_file(tmp_path / "out.txt") as tmp:
        tmp.write_text("x")

    assert (tmp_path / "out.txt").stat().st_mode == plain.stat().st_mode


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_a_failed_file_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    target = tmp_path / "out.txt"
    target.write_text("old")

    with pytest.raises(error):
        with atomic_file(target) as tmp:
            tmp.write_text("half")
            raise error()

    assert target.read_text() == "old"
    assert _listing(tmp_path) == ["out.txt"]


def test_a_failed_first_write_leaves_nothing(tmp_path):
    with pytest.raises(Boom):
        with atomic_file(tmp_path / "out.txt") as tmp:
            tmp.write_text("half")
            raise Boom

    assert _listing(tmp_path) == []


def test_two_writers_of_one_file_never_share_a_temporary(tmp_path):
    target = tmp_path / "out.txt"

    with atomic_file(target) as first, atomic_file(target) as second:
        assert first != second
        first.write_text("first")
        second.write_text("second")

    assert target.read_text() == "first"  # the last to finish wins, whole
    assert _listing(tmp_path) == ["out.txt"]


def test_concurrent_writers_of_one_file_leave_one_whole_version(tmp_path):
    target = tmp_path / "out.bin"
    versions = [bytes([i]) * 200_000 for i in range(8)]
    start = threading.Barrier(len(versions))
    errors = []

    def write(data: bytes) -> None:
        try:
            with atomic_file(target) as tmp:
                start.wait()
                tmp.write_bytes(data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert target.read_bytes() in versions
    assert _listing(tmp_path) == ["out.bin"]


def test_an_exclusive_write_creates_a_missing_file(tmp_path):
    with atomic_file(tmp_path / "lock", exclusive=True) as tmp:
        tmp.write_text("mine")

    assert (tmp_path / "lock").read_text() == "mine"
    assert _listing(tmp_path) == ["lock"]


def test_an_exclusive_write_refuses_an_existing_file(tmp_path):
    (tmp_path / "lock").write_text("theirs")

    with pytest.raises(FileExistsError):
        with atomic_file(tmp_path / "lock", exclusive=True) as tmp:
            tmp.write_text("mine")

    assert (tmp_path / "lock").read_text() == "theirs"
    assert _listing(tmp_path) == ["lock"]


def test_a_directory_is_written_in_place(tmp_path):
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a.txt").write_text("a")

    assert _tree(tmp_path / "out") == {"sub/a.txt": "a"}
    assert _listing(tmp_path) == ["out"]


def test_a_directory_replaces_an_existing_one_whole(tmp_path):
    old = tmp_path / "out"
    old.mkdir()
    (old / "stale.txt").write_text("stale")

    with atomic_dir(old) as tmp:
        (tmp / "new.txt").write_text("new")

    assert _tree(old) == {"new.txt": "new"}
    assert _listing(tmp_path) == ["out"]


def test_a_directory_replaces_a_file_or_a_link(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "file").write_text("file")

    for name in ("link", "file"):
        with atomic_dir(tmp_path / name) as tmp:
            (tmp / "new.txt").write_text(name)

    assert _tree(tmp_path / "link") == {"new.txt": "link"}
    assert _tree(tmp_path / "file") == {"new.txt": "file"}
    assert _tree(tmp_path / "elsewhere") == {"keep.txt": "keep"}  # the link's target survives
    assert _listing(tmp_path) == ["elsewhere", "file", "link"]


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_a_failed_directory_write_keeps_the_old_one_and_leaves_no_temporary(tmp_path, error):
    old = tmp_path / "out"
    old.mkdir()
    (old / "old.txt").write_text("old")

    with pytest.raises(error):
        with atomic_dir(old) as tmp:
            (tmp / "half.txt").write_text("half")
            raise error()

    assert _tree(old) == {"old.txt": "old"}
    assert _listing(tmp_path) == ["out"]


@pytest.mark.parametrize("error", [OSError("disk gone"), KeyboardInterrupt()])
def test_an_interrupted_swap_puts_the_old_directory_back(tmp_path, monkeypatch, error):
    old = tmp_path / "out"
    old.mkdir()
    (old / "old.txt").write_text("old")
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 3:  # new over old: refused; old aside: done; new in: fails
            raise error
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(type(error)):
        with atomic_dir(old) as tmp:
            (tmp / "new.txt").write_text("new")

    monkeypatch.undo()
    assert _tree(old) == {"old.txt": "old"}
    assert _listing(tmp_path) == ["out"]


def test_two_writers_of_one_directory_never_share_a_temporary(tmp_path):
    target = tmp_path / "out"

    with atomic_dir(target) as first, atomic_dir(target) as second:
        assert first != second
        (first / "who.txt").write_text("first")
        (second / "who.txt").write_text("second")

    assert _tree(target) == {"who.txt": "first"}
    assert _listing(tmp_path) == ["out"]


def test_move_into_place_moves_a_finished_directory_over_another(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "a.txt").write_text("new")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "a.txt").write_text("old")

    move_into_place(tmp_path / "new", tmp_path / "dst")

    assert _tree(tmp_path / "dst") == {"a.txt": "new"}
    assert _listing(tmp_path) == ["dst"]


def test_move_into_place_moves_a_file_over_a_file_but_not_over_a_directory(tmp_path):
    (tmp_path / "new.txt").write_text("new")
    (tmp_path / "dst.txt").write_text("old")
    (tmp_path / "folder").mkdir()

    move_into_place(tmp_path / "new.txt", tmp_path / "dst.txt")
    (tmp_path / "other.txt").write_text("other")
    with pytest.raises(IsADirectoryError):
        move_into_place(tmp_path / "other.txt", tmp_path / "folder")

    assert (tmp_path / "dst.txt").read_text() == "new"
    assert _listing(tmp_path) == ["dst.txt", "folder", "other.txt"]


def test_a_hidden_targets_temporary_keeps_one_leading_dot(tmp_path):
    with atomic_file(tmp_path / ".marker") as tmp:
        name = tmp.name

    assert name.startswith(".marker.tmp-") and len(name) == len(".marker.tmp-") + 32


def test_a_killed_writer_leaves_only_a_temporary_that_leftovers_finds(tmp_path):
    target = tmp_path / "out.txt"
    code = (
        "import os, sys\n"
        "from lobsim._atomic import atomic_file\n"
        "with atomic_file(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os._exit(9)\n"
    )

    done = subprocess.run([sys.executable, "-c", code, str(target)], check=False)

    assert done.returncode == 9
    assert not target.exists()
    (left,) = leftovers(tmp_path)
    assert left.name.startswith(".out.txt.tmp-")
    assert leftovers(tmp_path, "other*") == []
