"""Fitting once per (fold, strategy, fit key) and sharing the fit between the tasks of a sweep.

A sweep runs every variant on every fold, and each task fits every strategy on its fold's
training days. A strategy that says what its fit reads (``fit_key``, see :mod:`lobsim.strategy`)
is fitted once per (fold, label, key): the first task to need it fits it and stores it, pickled,
under ``DIR/tasks/<hash[:12]>/fits/fold-<k>/``; the tasks of the other variants of that fold
whose key is the same load it instead of fitting. This works across processes and Dask workers
(the run directory is on a file system they share) and across a run and its ``--resume``.

Correctness rests on two things only: the key (equal keys mean interchangeable fits, the
strategy's promise), and files that appear whole or not at all (:mod:`lobsim._atomic`). On top
of that, a claim file avoids fitting the same thing twice at the same time: the task that
creates ``<id>.claim`` fits, and keeps the claim's time stamp fresh while it does; a task that
finds the claim waits for the fit to appear (never longer than fitting itself would take, as
the holder started first). A claim whose holder is gone (its process on this host, a run that
no longer holds DIR, or no heartbeat for a while) is taken over; if two tasks end up fitting
the same thing, the first fit stored is kept and the results are the same.

A task copies the fitted strategy at the moment its fit ends (before it trades), so the tasks
that load it start from the same state as the one that fitted it. The stored fits serve a run
only: a run without ``--resume`` starts with none, and a run that completes removes them
(its finished tasks are what ``--resume`` reuses then).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lobsim._atomic import atomic_file, leftovers
from lobsim.errors import InputError, StrategyError
from lobsim.run.outdir import holder_alive, holder_identity, still_held
from lobsim.rundir import fit_dir
from lobsim.sandbox import GlobalRandomGuard, call_fit
from lobsim.strategy import TrainData, fit_digest

FORMAT = 1
FIT_SUFFIX = ".pkl"
CLAIM_SUFFIX = ".claim"
# A claim's holder touches it every _BEAT_S; a waiter that sees no touch for _STALE_S takes over.
_BEAT_S = 2.0
_STALE_S = 60.0
_POLL_S = 0.25


def sharing_key(strategy: Any, train: TrainData, label: str, fold: int) -> str | None:
    """The id under which the fit of ``strategy`` on ``train`` is shared, or None (not shared).

    The strategy's own ``fit_key(train)`` scoped by its class, its label and the fold; None
    when it has no ``fit`` or no ``fit_key``, or when ``fit_key`` returns None.

    Raises
    ------
    StrategyError
        ``fit_key`` raised, drew global random numbers, or returned something other than a
        non-empty str or bytes (or None).
    """
    method = getattr(strategy, "fit_key", None)
    if not callable(method) or not callable(getattr(strategy, "fit", None)):
        return None
    try:
        with GlobalRandomGuard(f"strategy {label!r} in fit_key(train)"):
            key = method(train)
    except StrategyError:
        raise
    except InputError as exc:
        raise StrategyError(f"strategy {label!r}: fit_key(train): {exc}") from exc
    except Exception as exc:  # third-party code may raise anything: name it, keep the cause
        raise StrategyError(
            f"strategy {label!r}: fit_key(train) raised {type(exc).__name__}: {exc}"
        ) from exc
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or not key:
        raise StrategyError(
            f"strategy {label!r}: fit_key(train) must return a non-empty str or bytes, or "
            f"None, got {key!r:.80}"
        )
    kind = type(strategy)
    return fit_digest(FORMAT, f"{kind.__module__}:{kind.__qualname__}", label, fold, key)


def fit_shared(
    strategy: Any,
    train: TrainData,
    label: str,
    *,
    root: Path | None,
    fold: int,
    variant_id: str,
    token: str | None = None,
    run_dir: Path | None = None,
    check: Callable[[], None] = lambda: None,
) -> tuple[Any, dict[str, Any]]:
    """``strategy`` fitted on ``train``, or the same fit made by another task of the run.

    Parameters
    ----------
    strategy : object
        As built from its options, not fitted.
    train : TrainData
        The task's sandboxed training data for it.
    label : str
        Its label in the scenario.
    root : Path or None
        The run's store of fits (:func:`lobsim.rundir.fit_dir` without the fold); None: fit,
        share nothing.
    fold, variant_id : int, str
        The task's fold and variant.
    token, run_dir : str or None, Path or None
        The lock token of the run and its directory: a claim of another token is stale.
    check : callable
        Raises when the task must stop writing (its run is gone); called before every write
        and while waiting.

    Returns
    -------
    (strategy, info)
        The fitted strategy (``strategy`` itself when this task fitted it, a copy of another
        task's fit otherwise) and, for the manifest, ``{"fit_reused": bool}`` plus, when
        reused, ``"fit_variant"``: the id of the variant whose task fitted it.
    """
    key = None if root is None else sharing_key(strategy, train, label, fold)
    if key is None:
        _fit(strategy, train, label)
        return strategy, {"fit_reused": False}
    folder = fit_dir(root, fold)
    path = folder / f"{key[:40]}{FIT_SUFFIX}"
    claim = folder / f"{key[:40]}{CLAIM_SUFFIX}"
    while True:
        found = _load(path, key)
        if found is not None:
            return found
        folder.mkdir(parents=True, exist_ok=True)
        with _claimed(claim, token) as mine:
            if mine:
                found = _load(path, key)  # stored between our look and our claim
                if found is not None:
                    return found
                start = time.perf_counter()
                _fit(strategy, train, label)
                meta = {"variant_id": variant_id, "fit_s": time.perf_counter() - start}
                check()
                _store(path, key, strategy, meta)
                return strategy, {"fit_reused": False}
        _wait(path, claim, token, run_dir, check)


def reset(root: Path, *, keep: bool) -> None:
    """Prepare the run's store of fits before its tasks start: emptied for a fresh run;
    for ``--resume`` (``keep``), only the leftovers of killed writers and their claims go."""
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
        return
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        for path in [*leftovers(folder), *folder.glob(f"*{CLAIM_SUFFIX}")]:
            with contextlib.suppress(OSError):
                path.unlink()


def discard(root: Path) -> None:
    """Remove the run's store of fits (its tasks are all done)."""
    shutil.rmtree(root, ignore_errors=True)


def _fit(strategy: Any, train: TrainData, label: str) -> None:
    with GlobalRandomGuard(f"strategy {label!r} in fit(train)"):
        call_fit(strategy, train, label)


def _load(path: Path, key: str) -> tuple[Any, dict[str, Any]] | None:
    """The stored fit at ``path`` as (strategy, info), or None when there is none that loads
    (one a different version of the code cannot read is removed, to be fitted again)."""
    try:
        with path.open("rb") as file:
            blob = pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception:  # written by other code (a class since changed): fit again
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or blob.get("key") != key:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return blob["strategy"], {"fit_reused": True, "fit_variant": blob["variant_id"]}


def _store(path: Path, key: str, strategy: Any, meta: dict[str, Any]) -> None:
    """Pickle the fitted strategy to ``path``, whole or not at all; a strategy that cannot be
    pickled is simply not shared, and a fit already stored by another task is kept."""
    blob = {"format": FORMAT, "key": key, **meta, "strategy": strategy}
    try:
        data = pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a plug-in may hold anything (a lock, a file handle)
        return
    try:
        with atomic_file(path, exclusive=True) as tmp:
            tmp.write_bytes(data)
    except FileExistsError:
        pass


@contextlib.contextmanager
def _claimed(claim: Path, token: str | None) -> Iterator[bool]:
    """Claim the fit ``claim`` stands for: yields True (and keeps the claim fresh until the
    block ends, then removes it) if this task got it, False if another task holds it."""
    me = holder_identity(token)
    try:
        with atomic_file(claim, exclusive=True) as tmp:
            tmp.write_text(json.dumps(me), encoding="utf-8")
    except FileExistsError:
        yield False
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(_BEAT_S):
            try:
                os.utime(claim)
            except OSError:
                return

    thread = threading.Thread(target=beat, name="lobsim-fit-claim", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        thread.join()
        if _read(claim) == me:  # not if a waiter took it over, thinking us gone
            with contextlib.suppress(OSError):
                claim.unlink()


def _wait(
    path: Path,
    claim: Path,
    token: str | None,
    run_dir: Path | None,
    check: Callable[[], None],
) -> None:
    """Wait while another task holds ``claim`` and ``path`` is not there; remove the claim
    of a holder that is gone (then the caller claims it in turn)."""
    seen: tuple[int, int] | None = None
    since = time.monotonic()
    while not path.exists():
        try:
            stat = claim.stat()
        except FileNotFoundError:
            return
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp != seen:
            seen, since = stamp, time.monotonic()
        holder = _read(claim)
        if time.monotonic() - since > _STALE_S or _gone(holder, token, run_dir):
            with contextlib.suppress(OSError):
                if claim.stat().st_ino == stamp[0]:
                    claim.unlink()
            return
        check()
        time.sleep(_POLL_S)


def _gone(holder: Any, token: str | None, run_dir: Path | None) -> bool:
    """Whether the holder of a claim is certainly gone: a run other than this one (one run
    holds DIR at a time), a run that no longer holds DIR, or a process of this host that died."""
    if not isinstance(holder, dict):
        return False  # unreadable for a moment: the heartbeat decides
    theirs = holder.get("token")
    if token is not None and theirs != token:
        return True
    if theirs is not None and run_dir is not None and not still_held(run_dir, theirs):
        return True
    return holder.get("host") == socket.gethostname() and not holder_alive(holder)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
