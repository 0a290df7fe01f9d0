"""The experiments: the registry (`registry`), what an experiment is (`experiment`: the base class),
one module per experiment, the run options only one experiment reads (`options`), the pick of a
start model (`stage_inputs`) and the search spaces (`spaces`).
"""
