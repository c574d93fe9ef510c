"""The run directory: what may be written where, one run at a time, and all-or-nothing results.

A directory is lobsim's when it holds lobsim's marker, ``.lobsim-run`` (the scenario's hash,
written before anything else), or, for runs of earlier versions, a ``manifest.json`` that is
lobsim's; never because of the names of the folders in it. Policy, checked before anything is
written:

- absent or empty: a fresh run;
- lobsim's, for the SAME scenario (same hash): without ``--resume`` every task runs again and
  the results are replaced; with ``--resume`` finished tasks are kept and only the missing ones
  run. A directory is resumable from the moment it exists: a run killed at any instant left it
  marked, and whatever it had finished;
- lobsim's, for another scenario: refused (choose another ``--out`` or delete it), with or
  without ``--resume``;
- anything else that is not empty: refused, naming what it holds, so a run never mixes its files
  with a user's;
- a directory another live run holds (its ``.lock``: host, process id and start time): refused,
  naming it. A lock whose process is gone (on this host) is taken over, with a message.

Final results are written into a staging directory inside DIR, then renamed into place, the
manifest last; a failed run leaves the previous results (if any) as they were, and a run that
failed before writing anything leaves nothing (not even the marker).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from lobsim._atomic import TMP, atomic_file, leftovers, move_into_place
from lobsim.errors import InputError
from lobsim.rundir import FOLD_PREFIX, LOCK, MANIFEST, MARKER, TASKS

_STAGING = ".staging-"
# Files lobsim writes on its way to a marked directory: a marker or lock not yet linked in.
_OWN_TEMPORARY = re.compile(rf"^\.(lobsim-run|lock){re.escape(TMP)}[0-9a-f]{{32}}$")


def check_out_dir(out: Path, scenario_hash: str) -> None:
    """Refuse ``out`` if it holds anything but this scenario's run (see the module docstring).

    Raises
    ------
    InputError
        Naming the directory and what it holds.
    """
    for parent in reversed(out.parents):
        if parent.exists() and not parent.is_dir():
            raise InputError(f"--out {out}: {parent} is a file, not a directory")
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError as exc:
        raise InputError(f"--out {out}: cannot be read ({exc.strerror or exc})") from None
    if not entries or all(_OWN_TEMPORARY.match(name) or name == LOCK for name in entries):
        return  # empty, or a run killed while it was marking the directory
    hashes = _hashes(out)
    if not hashes:
        shown = ", ".join(entries[:5]) + (
            f" and {len(entries) - 5} more" if len(entries) > 5 else ""
        )
        raise InputError(
            f"--out {out}: the directory holds files that are not a lobsim run's ({shown}) "
            f"and no {MARKER} marker; lobsim writes only into an empty directory or one it "
            "made: choose another --out"
        )
    for other in sorted(hashes - {scenario_hash[:12]}):
        raise InputError(
            f"--out {out}: holds the results of another scenario (hash {other}...), not of this "
            f"one ({scenario_hash[:12]}...); choose another --out or delete the directory"
        )


def _hashes(out: Path) -> set[str]:
    """Short hashes of the scenarios whose run ``out`` is (empty if it is not lobsim's)."""
    found = set()
    marker = out / MARKER
    if marker.exists():
        found.add(_read_hash(marker, "(unreadable marker)"))
    manifest = out / MANIFEST
    if manifest.is_file():
        doc = _read_json(manifest)
        if (
            isinstance(doc, dict)
            and "scenario_hash" in doc
            and "lobsim" in doc.get("versions", {})
        ):
            found.add(str(doc["scenario_hash"])[:12])
    if found:
        tasks = out / TASKS
        if tasks.is_dir():
            found |= {p.name for p in tasks.iterdir() if p.is_dir()}
    return found


def _read_hash(path: Path, unreadable: str) -> str:
    doc = _read_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("scenario_hash"), str):
        return doc["scenario_hash"][:12]
    return unreadable


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def claimed(out: Path, scenario_hash: str, token: str) -> Iterator[None]:
    """Hold ``out`` for this run: create and mark it, lock it (the lock carries ``token``, which
    tasks check before they write), and on leaving remove what stayed empty.

    A lock left by a process that is gone is taken over, with a message on stderr.
    """
    created = [p for p in (*reversed(out.parents), out) if not p.exists()]
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
            _mark(out, scenario_hash)
            _take_lock(out / LOCK, token)
        except OSError as exc:
            raise InputError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    except InputError:
        _remove_created(out, created)
        raise
    try:
        _clean_leftovers(out)
        yield
    finally:
        (out / LOCK).unlink(missing_ok=True)
        _prune_empty(out / TASKS)
        _remove_created(out, created)


def _remove_created(out: Path, created: list[Path]) -> None:
    """Leave nothing of a run that wrote nothing: its marker and the folders it made."""
    with contextlib.suppress(OSError):
        if {p.name for p in out.iterdir()} <= {MARKER}:
            (out / MARKER).unlink(missing_ok=True)
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.rmdir()  # only if empty


def _write_new(path: Path, doc: dict) -> bool:
    """Create ``path`` holding ``doc`` in one step (never half-written); False if it exists."""
    try:
        with atomic_file(path, exclusive=True) as tmp:
            tmp.write_text(json.dumps(doc), encoding="utf-8")
    except FileExistsError:
        return False
    return True


def _mark(out: Path, scenario_hash: str) -> None:
    if not _write_new(out / MARKER, {"scenario_hash": scenario_hash}):
        held = _read_hash(out / MARKER, "(unreadable marker)")
        if held != scenario_hash[:12]:
            raise InputError(
                f"--out {out}: holds the run of another scenario (hash {held}...), not of this "
                f"one ({scenario_hash[:12]}...); choose another --out or delete the directory"
            )


def holder_identity(token: str | None) -> dict:
    """Who holds a lock or claim: this host, this process (id and start time), the run's token."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _start_time(os.getpid()),
        "token": token,
    }


def _take_lock(lock: Path, token: str) -> None:
    me = holder_identity(token)
    for _ in range(3):
        if _write_new(lock, me):
            return
        holder = _read_json(lock)
        holder = holder if isinstance(holder, dict) else {}
        if holder.get("host") == me["host"] and not holder_alive(holder):
            print(
                f"lobsim: taking over {lock}: the run that held it (pid {holder.get('pid')}) "
                "is gone",
                file=sys.stderr,
            )
            lock.unlink(missing_ok=True)
            continue
        raise InputError(
            f"--out {lock.parent}: another lobsim run (host {holder.get('host')}, pid "
            f"{holder.get('pid')}) is writing there; wait for it, or remove {lock} if that "
            "process is gone"
        )
    raise InputError(f"--out {lock.parent}: cannot take the lock {lock}")


def still_held(out: Path, token: str) -> bool:
    """Whether the run that made ``token`` still holds ``out``: its lock is there with that
    token and, on this host, its process lives. Tasks check this before they write, so no
    worker writes into a directory after the run that started it is gone."""
    holder = _read_json(out / LOCK)
    if not isinstance(holder, dict) or holder.get("token") != token:
        return False
    return holder.get("host") != socket.gethostname() or holder_alive(holder)


def holder_alive(holder: dict) -> bool:
    """Whether the process a :func:`holder_identity` names (on this host) still runs: the same
    pid, not a later process that reused it."""
    try:
        pid = int(holder.get("pid", -1))
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = holder.get("started")
    # The same pid, reused by a process started later, is not the holder.
    return started is None or _start_time(pid) in (None, started)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _clean_leftovers(out: Path) -> None:
    """Remove staging and temporary directories and files that a killed run left behind:
    staging directories, and the temporaries and moved-aside results of atomic writes (the
    marker's and the lock's, the published results', the tasks')."""
    found = [*out.glob(f"{_STAGING}*"), *leftovers(out)]
    tasks = out / TASKS
    if tasks.is_dir():
        for variant in tasks.glob("*/*"):
            found += leftovers(variant, f"{FOLD_PREFIX}*")
    for path in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


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
        move_into_place(staging / name, out / name)
    staging.rmdir()
    return names
