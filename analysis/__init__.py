"""Read stored results (no Ray needed): tidy tables, running-max curves, Pareto fronts, figures."""

from analysis.curves import pareto_front, running_max
from analysis.results import load_results

__all__ = ["load_results", "pareto_front", "running_max"]
