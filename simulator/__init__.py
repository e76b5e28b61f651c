"""g3sim: Monte Carlo scenarios for the probability that a country reaches a top-k AI rank.

The public API, loaded on first use (PEP 562), so that ``import simulator`` stays cheap; every
command of the CLI is one of these calls (docs/api.md has the table and a walk-through)::

    import simulator as g3

    ds = g3.run(g3.load_scenario("baseline"), draws=50_000, seed=1)
    g3.save(ds, "results/mine.nc")

``import g3sim`` gives the same names (the distribution and the command are called g3sim).
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
    "plot": "simulator.plots",
    "save_figure": "simulator.plots",
    "headline": "simulator.views.run",
    "write_report": "simulator.views.html",
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
