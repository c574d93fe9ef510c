"""Running a scenario: tasks per (variant, fold), local and Dask backends, resume, results.

``lobsim run SCENARIO.toml --out DIR`` (or :func:`run_scenario`) writes under DIR (the file
names and each table's column types: :mod:`lobsim.rundir`):

- ``episodes.parquet``: one row per (variant, fold, strategy, stock, day): ``variant`` (the
  variant's label, "base" without a sweep), ``variant_id``, ``fold``, ``strategy`` (the
  scenario's label), then the columns of ``lobsim.simulate(...).episodes`` (stock, day, side,
  shares, shares_filled, unfilled, arrival_price, avg_price, day_volume, temporary_cost,
  permanent_cost, timing_cost, opportunity_cost, penalty_cost, shortfall, cost, and the seven
  ``*_bps``). ``cost`` (temporary + permanent + the penalty on shares left unfilled at the
  close) is the cost strategies are compared on; every bps is over shares x arrival price.
- ``decisions.parquet``: one row per (variant, fold, strategy, stock, decision): the same four
  keys, ``stock``, ``decision`` (k), ``minute`` (t_k), ``inventory`` (mean over the test days
  of the parent's remaining fraction before decision k) and ``child_cost`` (mean over the
  test days of that decision's temporary cost, $).
- ``hindsight.parquet``: one row per (variant, fold, stock, day): ``variant``,
  ``variant_id``, ``fold``, ``stock``, ``day``, ``hindsight_cost`` ($), ``hindsight_bps``
  and ``hindsight_shares``: the hindsight optimum (:mod:`lobsim.simulation.hindsight`), NaN
  where it is not defined; each strategy's episodes are checked against it.
- ``summary.csv``, ``summary.md``, ``plots/``: by :func:`lobsim.report.write_report`.
- ``manifest.json``: scenario (resolved), scenario_hash, variants [{id, label, hash}], seed,
  baselines, strategies, versions, timings, tasks (one entry per task: its directory, status
  "ran" or "reused", dates, per strategy ``fit_s``, ``simulate_s`` and ``fit_reused``, with
  ``fit_variant`` when the fit was another variant's: see below), backend, workers, device,
  created.
- ``tasks/<scenario-hash[:12]>/<variant-id>/fold-<k>/``: each task's own episodes, decisions,
  hindsight and ``task.json``, renamed into place when complete; ``--resume`` skips those present.
- ``tasks/<scenario-hash[:12]>/fits/``: while a sweep runs, the fits its variants share
  (:mod:`lobsim.run.fits`): a strategy with a ``fit_key`` is fitted once per fold and key, and
  the tasks of the other variants load that fit (their ``fit_s`` is the time they took to get
  it, ``fit_reused`` true). Removed when the run completes.

A market, parent orders and a calibrated book are built per task from the variant's scenario
(see :mod:`lobsim.run.task` for seeds and threads); :mod:`lobsim.run.outdir` says what happens
when DIR already holds something; :mod:`lobsim.run.backends` where tasks run.
"""

from lobsim.run.backends import BACKENDS, RunError, execute
from lobsim.run.executor import CompletedRun, default_out, run_scenario
from lobsim.run.plan import RunPlan, TaskSpec, build_plan
from lobsim.run.task import book_seed, run_task, strategy_seed

__all__ = [
    "BACKENDS",
    "CompletedRun",
    "RunError",
    "RunPlan",
    "TaskSpec",
    "book_seed",
    "build_plan",
    "default_out",
    "execute",
    "run_scenario",
    "run_task",
    "strategy_seed",
]
