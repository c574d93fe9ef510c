"""Atomic writes: a file or a directory appears whole under its name, or not at all.

One mechanism with one failure behaviour, for every writer of lobsim (and its plug-ins):

- the content goes to a temporary next to the target (same directory, so the final rename
  never crosses file systems), named ``.<name>.tmp-<32 hex digits>`` (one leading dot for a
  hidden target too) and created exclusively (``O_EXCL``, ``mkdir``), so two writers of the
  same target never share a temporary; it gets the permissions of a plain ``open``/``mkdir``
  (the umask's), not ``tempfile``'s 0600/0700;
- on success the temporary is flushed to disk (``fsync`` of every file, then of the
  directories), renamed over the target (a file by ``os.replace``; a directory, which
  ``os.replace`` cannot put over a non-empty one, is swapped: the old one moved aside to
  ``.<name>.old-<32 hex digits>``, the new one moved in, the old one removed, and put back if
  the move in fails), then the parent directory is flushed so the rename survives a crash;
- on any exception, KeyboardInterrupt included, the temporary is removed, the target is left
  as it was, and the exception propagates.

A process killed outright (SIGKILL, power loss) may leave a temporary behind, never a
half-written target; :func:`leftovers` finds them.

Examples
--------
>>> with atomic_file(path) as tmp:  # doctest: +SKIP
...     torch.save(blob, tmp)
>>> with atomic_dir(folder) as tmp:  # doctest: +SKIP
...     (tmp / "a.parquet").write_bytes(data)
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

TMP = ".tmp-"
OLD = ".old-"
# rename(2) errors that mean "the target is there": a non-empty directory, or not a directory.
_OCCUPIED = frozenset({errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR})
# Rounds of "move the target aside, move ours in" before giving up on a target that other
# writers keep replacing.
_ATTEMPTS = 8


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], *, exclusive: bool = False) -> Iterator[Path]:
    """Write a file atomically: yields an empty temporary file to write, then moves it in.

    Parameters
    ----------
    path : path
        The target file; its directory must exist.
    exclusive : bool
        Create ``path`` only if it does not exist (``os.link``): raises FileExistsError, after
        removing the temporary, when it does. Default: replace whatever file is there.

    Yields
    ------
    Path
        The temporary, in ``path``'s directory; write it (or replace it) by name.
    """
    path = Path(path)
    tmp = _create(path, TMP, _touch)
    try:
        yield tmp
        if exclusive:
            _fsync(tmp)
            os.link(tmp, path)
            _fsync_dir(path.parent)
        else:
            move_into_place(tmp, path)
    finally:
        _remove(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a directory atomically: yields an empty temporary directory, then swaps it in.

    An existing ``path`` (a directory, a file or a link) is replaced, see
    :func:`move_into_place`.

    Parameters
    ----------
    path : path
        The target directory; its parent must exist.

    Yields
    ------
    Path
        The temporary directory, in ``path``'s parent.
    """
    path = Path(path)
    tmp = _create(path, TMP, os.mkdir)
    try:
        yield tmp
        move_into_place(tmp, path)
    finally:
        _remove(tmp)


def move_into_place(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Move the finished file or directory ``src`` to ``dst``, flushed to disk.

    A file replaces a file (or link) as ``os.replace`` does, and fails on a directory. A
    directory replaces whatever ``dst`` is: the old one is moved aside, ``src`` moved in and
    the old one removed; if the move in fails (or is interrupted) the old one is put back.
    Between the two renames ``dst`` is briefly absent (POSIX has no portable exchange), never
    half-written. ``src`` and ``dst`` must be on the same file system.
    """
    src, dst = Path(src), Path(dst)
    if src.is_dir() and not src.is_symlink():
        _fsync_tree(src)
        _swap_dir(src, dst)
    else:
        _fsync(src)
        os.replace(src, dst)
    _fsync_dir(dst.parent)


def _swap_dir(src: Path, dst: Path) -> None:
    for _ in range(_ATTEMPTS):
        if _moved(src, dst):  # dst was absent (or an empty directory)
            return
        old = _name(dst, OLD)
        try:
            try:
                os.replace(dst, old)
            except FileNotFoundError:
                continue  # another writer moved it first
            moved = _moved(src, dst)
        except BaseException:
            _put_back(old, dst)
            raise
        _remove(old)
        if moved:
            return
        # Another writer's directory landed between our two renames: replace it in turn.
    raise OSError(f"{dst}: cannot be replaced: other writers kept replacing it")


def leftovers(folder: str | os.PathLike[str], name: str = "*") -> list[Path]:
    """Temporaries and moved-aside targets in ``folder`` that a killed writer left behind.

    ``name`` is a glob of the targets' names (default: every target). Only remove them when
    no writer is at work on those targets.
    """
    folder = Path(folder)
    name = name.removeprefix(".")
    found = {*folder.glob(f".{name}{TMP}*"), *folder.glob(f".{name}{OLD}*")}
    return sorted(found)


def _name(path: Path, kind: str) -> Path:
    """``.<name><kind><32 hex digits>`` (one leading dot, for a hidden target too)."""
    hidden = path.name if path.name.startswith(".") else f".{path.name}"
    return path.with_name(f"{hidden}{kind}{secrets.token_hex(16)}")


def _create(path: Path, kind: str, make: Callable[[Path], object]) -> Path:
    """A new temporary for ``path``, made by ``make`` (which fails if the name is taken)."""
    for _ in range(_ATTEMPTS):
        tmp = _name(path, kind)
        try:
            make(tmp)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{path}: cannot create a temporary next to it")


def _touch(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _moved(src: Path, dst: Path) -> bool:
    """``os.replace(src, dst)``; False (nothing moved) when ``dst`` is in the way."""
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno in _OCCUPIED:
            return False
        raise
    return True


def _put_back(old: Path, dst: Path) -> None:
    """Undo a move aside: ``old`` back to ``dst``, unless a complete one is there by now."""
    if not os.path.lexists(old):
        return
    with contextlib.suppress(OSError):
        if not _moved(old, dst):
            _remove(old)


def _remove(path: Path) -> None:
    """Remove a file, link or directory tree if it is there; errors ignored (litter only)."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Flush a directory's entries (best effort: not every platform or file system can)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        _fsync(path)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            file = Path(folder, name)
            if not file.is_symlink():
                _fsync(file)
        _fsync_dir(Path(folder))
