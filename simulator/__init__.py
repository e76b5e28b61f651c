"""g3sim: Monte Carlo scenarios for the probability that a country reaches a top-k AI rank.

The public API, loaded on first use (PEP 562), so that ``import simulator`` stays cheap; every
command of the CLI is one of these calls (docs/api.md has the table and a walk-through)::

    import simulator as g3

    ds = g3.run(g3.load_scenario("baseline"), draws=50_000, seed=1)
    g3.save(ds, "results/mine.nc")

``import g3sim`` gives the same names (the distribution and the command are called g3sim).
Decisions and explanations (docs/levers.md, docs/analysis.md)::

    sc = g3.load_scenario("configs/korea-levers.toml")
    grid = g3.sweep(sc, {"kor_delivered_fraction": [0.6, 0.8, 1.0]}, draws=20_000, seed=1)
    t = g3.target(sc, "kor_investment_growth_target", 0.25, year=2030, draws=20_000, seed=1)
    s = g3.conditioned_sensitivity(g3.load_scenario("configs/baseline.toml"))  # the headline's P
    d = g3.discover(g3.open_results("results/baseline.nc"))                    # PRIM box

``sweep`` (a Dataset, one dimension per lever) and ``sweep_to_file`` (resumable) run lever
combinations on common random numbers; ``target`` returns a ``TargetResult``;
``conditioned_sensitivity`` / ``given_data_sensitivity_of_result`` explain the conditioned
headline (given-data indices, a Dataset), ``sobol_sensitivity`` the unconditioned model;
``discover`` returns a ``Discovery``.
"""

from importlib import import_module

from ._version import __version__

# Public name → the module that defines it.
_API = {
    "load_scenario": "simulator.scenario",
    "list_scenarios": "simulator.scenario",
    "validate_scenario": "simulator.runs.validate",
    "run": "simulator.runs",
    "run_to_file": "simulator.runs",
    "RunOptions": "simulator.runs",
    "StopTarget": "simulator.runs",
    "FileOptions": "simulator.runs",
    "open_results": "simulator.results",
    "open_result": "simulator.results",
    "save": "simulator.results",
    "calibrate": "simulator.analysis.calibration",
    "compare_scenarios": "simulator.analysis.comparison_study",
    "compare_results": "simulator.analysis.comparison",
    "sobol_sensitivity": "simulator.analysis.sensitivity_study",
    "rank_sensitivity_of_result": "simulator.analysis.sensitivity_study",
    "discover": "simulator.analysis.discovery_study",
    "backtest": "simulator.analysis.backtest",
    "plot": "simulator.plots",
    "save_figure": "simulator.plots",
    "headline": "simulator.views.run",
    "write_report": "simulator.views.html",
    "conditioned_sensitivity": "simulator.analysis.sensitivity_conditioned",
    "given_data_sensitivity_of_result": "simulator.analysis.sensitivity_conditioned",
    "sweep": "simulator.analysis.sweep",
    "sweep_to_file": "simulator.analysis.sweep",
    "target": "simulator.analysis.target_search",
    "TargetResult": "simulator.analysis.target_search",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
