"""What a run does with a --out directory that already holds something."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lobsim.run.outdir import check_out_dir
from tests.run.conftest import TINY, run_cli, write_scenario


def _copy(clean_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(clean_run, out)
    return out


def _listing(path):
    return sorted((p.relative_to(path).as_posix(), p.stat().st_mtime_ns) for p in path.rglob("*"))


def test_refuses_a_foreign_non_empty_directory(tiny_file, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert run_cli(tiny_file, "--out", out) == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_refuses_another_scenarios_results(clean_run, tmp_path):
    out = _copy(clean_run, tmp_path)
    other = write_scenario(tmp_path, TINY.replace("seed = 11", "seed = 12"), "other.toml")
    before = _listing(out)
    assert run_cli(other, "--out", out) == 2
    assert _listing(out) == before


def test_refuses_to_resume_another_scenario(clean_run, tmp_path):
    out = _copy(clean_run, tmp_path)
    other = write_scenario(tmp_path, TINY.replace("seed = 11", "seed = 12"), "other.toml")
    before = _listing(out)
    assert run_cli(other, "--out", out, "--resume") == 2
    assert _listing(out) == before


def test_same_scenario_without_resume_runs_every_task_again(clean_run, tiny_file, tmp_path):
    out = _copy(clean_run, tmp_path)
    assert run_cli(tiny_file, "--out", out) == 0
    tasks = json.loads((out / "manifest.json").read_text())["tasks"]
    assert [t["status"] for t in tasks] == ["ran", "ran"]


def test_resume_of_a_finished_run_reuses_every_task(clean_run, tiny_file, tmp_path):
    out = _copy(clean_run, tmp_path)
    assert run_cli(tiny_file, "--out", out, "--resume") == 0
    tasks = json.loads((out / "manifest.json").read_text())["tasks"]
    assert [t["status"] for t in tasks] == ["reused", "reused"]


def test_refuses_a_directory_locked_by_a_live_run(clean_run, tiny_file, tmp_path):
    out = _copy(clean_run, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {"host": os.uname().nodename, "pid": holder.pid}
        (out / ".lock").write_text(json.dumps(lock))
        assert run_cli(tiny_file, "--out", out, "--resume") == 2
    finally:
        holder.kill()
        holder.wait()


def test_takes_over_the_lock_of_a_dead_run(clean_run, tiny_file, tmp_path):
    out = _copy(clean_run, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lock = {"host": os.uname().nodename, "pid": int(dead.stdout)}
    (out / ".lock").write_text(json.dumps(lock))
    assert run_cli(tiny_file, "--out", out, "--resume") == 0
    assert not (out / ".lock").exists()


def test_bad_input_in_a_task_leaves_no_directory(tmp_path):
    text = TINY + '\n[strategies.picky]\nclass = "tests.run.plugins:RefusesToFit"\n'
    path = write_scenario(tmp_path, text)
    out = tmp_path / "new" / "run"
    assert run_cli(path, "--out", out) == 2
    assert not (tmp_path / "new").exists()


def test_failed_rerun_keeps_the_previous_results(tmp_path):
    marker = tmp_path / "fail-now"
    moody = f'[strategies.moody]\nclass = "tests.run.plugins:FailsWhenMarked"\nmarker = "{marker}"'
    text = f"{TINY}\n{moody}\n"
    path = write_scenario(tmp_path, text)
    out = tmp_path / "run"
    assert run_cli(path, "--out", out) == 0
    before = _listing(out)
    marker.touch()

    assert run_cli(path, "--out", out) == 2

    assert _listing(out) == before


def test_leftovers_of_a_killed_run_are_removed(clean_run, tiny_file, tmp_path):
    out = _copy(clean_run, tmp_path)
    (task,) = out.glob("tasks/*/*/fold-0")
    leftover = task.parent / ".fold-0.tmp-0123abcd"
    shutil.copytree(task, leftover)
    staging = out / ".staging-0123abcd"
    staging.mkdir()

    assert run_cli(tiny_file, "--out", out, "--resume") == 0

    assert not leftover.exists() and not staging.exists()


def test_refuses_a_users_folder_that_happens_to_hold_a_tasks_folder(tiny_file, tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "tasks").mkdir(parents=True)
    (out / "summary.md").write_text("my notes")
    (out / "episodes.parquet").write_bytes(b"my data")
    before = _listing(out)

    assert run_cli(tiny_file, "--out", out) == 2

    assert _listing(out) == before
    err = capsys.readouterr().err
    assert "no .lobsim-run marker" in err and "episodes.parquet, summary.md, tasks" in err


def test_a_directory_killed_while_starting_is_resumed(tiny_file, tmp_path):
    # A run killed after it made and marked the directory, before its first task finished.
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lobsim-run").write_text(json.dumps({"scenario_hash": _hash(tiny_file)}))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (out / ".lock").write_text(json.dumps({"host": os.uname().nodename, "pid": int(dead.stdout)}))

    assert run_cli(tiny_file, "--out", out, "--resume") == 0
    assert (out / "episodes.parquet").exists() and not (out / ".lock").exists()


def test_a_directory_with_only_a_stale_lock_is_taken_over_with_a_message(
    tiny_file, tmp_path, capsys
):
    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (out / ".lock").write_text(json.dumps({"host": os.uname().nodename, "pid": int(dead.stdout)}))

    assert run_cli(tiny_file, "--out", out, "--resume") == 0
    assert f"taking over {out / '.lock'}" in capsys.readouterr().err


def test_a_live_lock_is_refused_naming_its_holder(clean_run, tiny_file, tmp_path, capsys):
    out = _copy(clean_run, tmp_path)
    (out / ".lock").write_text(json.dumps({"host": "elsewhere", "pid": 4242}))

    assert run_cli(tiny_file, "--out", out, "--resume") == 2
    assert "another lobsim run (host elsewhere, pid 4242)" in capsys.readouterr().err


def test_a_failed_run_in_an_empty_directory_leaves_it_empty(tmp_path):
    text = TINY + '\n[strategies.picky]\nclass = "tests.run.plugins:RefusesToFit"\n'
    path = write_scenario(tmp_path, text)
    out = tmp_path / "empty"
    out.mkdir()

    assert run_cli(path, "--out", out) == 2
    assert list(out.iterdir()) == []


def test_an_out_under_a_file_is_refused(tiny_file, tmp_path, capsys):
    (tmp_path / "file").write_text("x")

    assert run_cli(tiny_file, "--out", tmp_path / "file" / "run") == 2
    assert "is a file, not a directory" in capsys.readouterr().err


def test_a_read_only_out_is_refused(tiny_file, tmp_path, capsys):
    if os.geteuid() == 0:
        out = Path("/sys/lobsim-test-run")  # not writable even by root
    else:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o500)
        out = parent / "run"

    code = run_cli(tiny_file, "--out", out)
    out.parent.chmod(0o700) if os.geteuid() != 0 else None

    assert code == 2
    assert "cannot write there" in capsys.readouterr().err
    assert not out.exists()


def _hash(scenario):
    from lobsim.scenario import load_scenario

    return load_scenario(scenario).content_hash


def test_a_directory_killed_while_writing_its_marker_counts_as_empty(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    code = (
        "import os, sys\n"
        "from lobsim._atomic import atomic_file\n"
        "with atomic_file(sys.argv[1], exclusive=True) as tmp:\n"
        "    tmp.write_text('{}')\n"
        "    os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(out / ".lobsim-run")], check=False)
    assert [p.name for p in out.iterdir()] != []

    check_out_dir(out, "0" * 64)  # no error: only lobsim's own temporary is there
