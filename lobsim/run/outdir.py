"""The run directory: what may be written where, one run at a time, and all-or-nothing results.

Policy for a directory that already holds something (checked before anything is written):

- absent or empty: a fresh run;
- a run directory of the SAME scenario (same hash: its ``manifest.json`` or its
  ``tasks/<hash[:12]>``): without ``--resume`` every task runs again and the results are
  replaced; with ``--resume`` finished tasks are kept and only the missing ones run;
- a run directory holding another scenario's results or tasks: refused (choose another
  ``--out`` or delete it), with or without ``--resume``;
- anything else that is not empty: refused, so a run never mixes its files with foreign ones;
- a directory another live run holds (its ``.lock``): refused.

Final results are written into a staging directory inside DIR, then renamed into place, the
manifest last; a failed run leaves the previous results (if any) as they were.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

from lobsim.errors import InputError
from lobsim.run.task import replace_dir

MANIFEST = "manifest.json"
TASKS = "tasks"
LOCK = ".lock"
_STAGING = ".staging-"


def check_out_dir(out: Path, scenario_hash: str) -> None:
    """Refuse ``out`` if it holds anything but this scenario's run (see the module docstring).

    Raises
    ------
    InputError
        Naming the directory and what it holds.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    entries = {p.name for p in out.iterdir()}
    if not entries:
        return
    if MANIFEST not in entries and TASKS not in entries:
        raise InputError(
            f"--out {out}: the directory is not empty and is not a lobsim run directory; "
            "choose another --out"
        )
    for other in sorted(_hashes(out) - {scenario_hash[:12]}):
        raise InputError(
            f"--out {out}: holds the results of another scenario (hash {other}...), not of this "
            f"one ({scenario_hash[:12]}...); choose another --out or delete the directory"
        )


def _hashes(out: Path) -> set[str]:
    """Short hashes of the scenarios whose results or tasks ``out`` holds."""
    found = set()
    tasks = out / TASKS
    if tasks.is_dir():
        found |= {p.name for p in tasks.iterdir() if p.is_dir()}
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            found.add(str(json.loads(manifest.read_text(encoding="utf-8"))["scenario_hash"])[:12])
        except (OSError, ValueError, KeyError, TypeError):
            found.add("(unreadable manifest.json)")
    return found


@contextlib.contextmanager
def claimed(out: Path) -> Iterator[None]:
    """Hold ``out`` for this run: create it, lock it, and on failure remove what stayed empty.

    The lock file names this host and process; a lock left by a process that is gone (a killed
    run) is taken over.
    """
    created = [p for p in (*reversed(out.parents), out) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK
    _take_lock(lock)
    try:
        _clean_leftovers(out)
        yield
    finally:
        lock.unlink(missing_ok=True)
        _prune_empty(out / TASKS)
        for path in reversed(created):
            with contextlib.suppress(OSError):
                path.rmdir()  # only if empty: a run that wrote nothing leaves nothing


def _take_lock(lock: Path) -> None:
    me = {"host": socket.gethostname(), "pid": os.getpid()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                holder = {}
            if holder.get("host") == me["host"] and not _alive(int(holder.get("pid", -1))):
                lock.unlink(missing_ok=True)  # left by a run that was killed
                continue
            raise InputError(
                f"--out {lock.parent}: another lobsim run (host {holder.get('host')}, pid "
                f"{holder.get('pid')}) is writing there; wait for it or remove {lock} if it is "
                "gone"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
        return
    raise InputError(f"--out {lock.parent}: cannot take the lock {lock}")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_leftovers(out: Path) -> None:
    """Remove staging and temporary task directories that a killed run left behind."""
    for path in out.glob(f"{_STAGING}*"):
        shutil.rmtree(path, ignore_errors=True)
    tasks = out / TASKS
    if tasks.is_dir():
        for pattern in ("*/*/.fold-*.tmp-*", "*/*/.fold-*.old-*"):
            for path in tasks.glob(pattern):
                shutil.rmtree(path, ignore_errors=True)


def _prune_empty(root: Path) -> None:
    """Remove empty directories under (and including) ``root``, deepest first."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir():
            with contextlib.suppress(OSError):
                path.rmdir()
    with contextlib.suppress(OSError):
        root.rmdir()


def staging_dir(out: Path) -> Path:
    """A fresh directory inside ``out`` for the final files before they are moved in."""
    path = out / f"{_STAGING}{uuid.uuid4().hex}"
    path.mkdir()
    return path


def publish(staging: Path, out: Path) -> list[str]:
    """Move every entry of ``staging`` into ``out``, the manifest last; returns their names."""
    names = sorted(p.name for p in staging.iterdir() if p.name != MANIFEST)
    if (staging / MANIFEST).exists():
        names.append(MANIFEST)
    for name in names:
        src, dst = staging / name, out / name
        if src.is_dir():
            replace_dir(src, dst)
        else:
            os.replace(src, dst)
    staging.rmdir()
    return names
