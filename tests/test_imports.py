"""What importing lobsim and building its command line pull in.

``import lobsim`` resolves its public names on first use, and the command line builds every
parser (help texts included) from light modules, so that ``lobsim --help`` does not wait for
Numba, pandas or pyarrow. Torch, matplotlib and Dask stay behind the features that need them
(the LSTM, the plots, the Dask backend). Each check runs in a fresh interpreter, since this
one has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

OPTIONAL = ("torch", "matplotlib", "dask")
HEAVY = ("numba", "pandas", "pyarrow", "torch", "matplotlib")


def _loaded(code: str, modules: tuple[str, ...]) -> tuple[list[str], dict]:
    """The ``modules`` (top-level names) imported once ``code`` has run in a new interpreter,
    and the JSON object ``code`` left in ``out``."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        loaded = sorted(m for m in {modules!r} if m in sys.modules)
        print(json.dumps({{"loaded": loaded, "out": globals().get("out", {{}})}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["loaded"], result["out"]


@pytest.mark.parametrize(
    "code", ["import lobsim", "from lobsim import *"], ids=["import", "every-public-name"]
)
def test_importing_lobsim_imports_no_torch_matplotlib_or_dask(code):
    loaded, _ = _loaded(code, OPTIONAL)

    assert loaded == []


def test_every_public_name_resolves():
    _, out = _loaded(
        """
        import lobsim
        out = {"missing": [n for n in lobsim.__all__ if getattr(lobsim, n, None) is None]}
        """,
        (),
    )

    assert out["missing"] == []


_HELP = """
import argparse, contextlib, io

from lobsim.cli import build_parser


def commands(parser, path=()):
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


out = {}
for path in list(commands(build_parser())):
    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
        build_parser().parse_args([*path, "--help"])
    out[" ".join(path)] = text.getvalue()
"""


def test_the_help_of_every_command_imports_no_heavy_module():
    loaded, helps = _loaded(_HELP, HEAVY)

    assert loaded == []
    assert {"", "run", "data", "data synth", "bench"} <= set(helps)
    assert all(text.startswith("usage: lobsim") for text in helps.values())
