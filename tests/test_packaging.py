"""Packaging: the built-in plug-ins are installed as ``lobsim.strategies``, never as a top-level
``strategies`` package that a user's own ``strategies/`` folder would shadow (or be shadowed by).

pyproject.toml maps the repository folder strategies/ to ``lobsim.strategies`` with
``package-dir``, which needs an explicit package list; these tests keep that list complete and
the installed entry points in step with pyproject.toml (reinstall with
``pip install -c constraints.txt -e .`` after changing them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from lobsim.plugins import registered

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
ENTRY_POINTS = PYPROJECT["project"]["entry-points"]["lobsim.strategies"]
BUILT_INS = {
    "twap",
    "vwap",
    "almgren_chriss",
    "powerlaw_ac",
    "dp",
    "lstm",
    "passive",
    "passive_adaptive",
    "policy",
}


def _packages_under(folder: Path, name: str) -> set[str]:
    """Dotted names of the folders with an __init__.py under ``folder``, installed as ``name``."""
    return {
        ".".join((name, *init.parent.relative_to(folder).parts))
        for init in folder.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_the_built_ins_folder_is_installed_as_lobsim_strategies():
    assert SETUPTOOLS["package-dir"] == {"lobsim.strategies": "strategies"}
    # A folder lobsim/strategies/ would be found before the mapped one in an editable install.
    assert not (REPO / "lobsim" / "strategies").exists()


def test_every_package_folder_is_in_the_package_list():
    expected = _packages_under(REPO / "lobsim", "lobsim") | _packages_under(
        REPO / "strategies", "lobsim.strategies"
    )
    listed = set(SETUPTOOLS["packages"])
    assert not expected - listed, "add these to [tool.setuptools] packages in pyproject.toml"
    assert not listed - expected, "these in [tool.setuptools] packages have no __init__.py"
    assert not any(p == "strategies" or p.startswith("strategies.") for p in listed)


def test_the_built_ins_are_registered_under_lobsim_strategies():
    assert set(ENTRY_POINTS) == BUILT_INS
    assert all(target.startswith("lobsim.strategies.") for target in ENTRY_POINTS.values())


def test_the_installed_entry_points_match_pyproject():
    installed = registered()
    stale = {n: installed.get(n) for n, t in ENTRY_POINTS.items() if installed.get(n) != t}
    assert not stale, "stale metadata: reinstall with pip install -c constraints.txt -e ."


# Run in a user's project directory (the current directory, first on sys.path) that has its own
# `strategies` package whose modules share the built-ins' names and refuse to be imported.
_PROBE = textwrap.dedent(
    """
    import importlib.metadata, importlib.util, json, sys
    from pathlib import Path

    import strategies  # the user's package, first on sys.path
    import lobsim
    import lobsim.strategies
    from lobsim.plugins import registered

    out = {"user": getattr(strategies, "USER", False), "loaded": {}}
    for name in sorted(registered()):
        cls = lobsim.load_strategy(name)
        out["loaded"][name] = f"{cls.__module__}:{cls.__qualname__}"

    # Without the user's directory, `strategies` must not resolve to the built-ins: lobsim
    # installs no top-level package of that name.
    cwd = Path.cwd().resolve()
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != cwd]
    del sys.modules["strategies"]
    importlib.invalidate_caches()
    spec = importlib.util.find_spec("strategies")
    where = [] if spec is None else list(spec.submodule_search_locations or [spec.origin])
    builtin_dir = Path(lobsim.strategies.__file__).resolve().parent
    out["shadow"] = [p for p in where if p and Path(p).resolve() == builtin_dir]
    out["top_level"] = importlib.metadata.packages_distributions().get("strategies", [])
    print(json.dumps(out))
    """
)


def test_a_users_strategies_package_does_not_shadow_the_built_ins(tmp_path):
    user = tmp_path / "strategies"
    (user / "lstm").mkdir(parents=True)
    (user / "__init__.py").write_text("USER = True\n", encoding="utf-8")
    refuse = 'raise ImportError("the user\'s module, not a built-in")\n'
    for module in ("twap", "vwap", "almgren_chriss", "dp", "_calibration", "_ac_strategy"):
        (user / f"{module}.py").write_text(refuse, encoding="utf-8")
    (user / "lstm" / "__init__.py").write_text(refuse, encoding="utf-8")
    # lobsim comes from the installation, not from a path set for this repository.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}

    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["user"] is True
    assert BUILT_INS <= set(out["loaded"])
    for name in BUILT_INS:
        assert out["loaded"][name].startswith("lobsim.strategies."), out["loaded"][name]
    assert out["shadow"] == []
    assert "lobsim" not in out["top_level"]
