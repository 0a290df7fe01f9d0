"""Read stored results (no Ray needed): tidy tables, best trials, running-max curves, Pareto fronts, figures."""

from analysis.best import best_trials
from analysis.curves import pareto_front, running_max
from analysis.paths import resolve_path
from analysis.results import load_results

__all__ = ["best_trials", "load_results", "pareto_front", "resolve_path", "running_max"]
