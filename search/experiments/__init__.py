"""The experiments: the registry (`registry`), what an experiment is (`experiment`: the base class),
one module per experiment, the run options only one experiment reads (`options`), where a later
stage starts (`starts`) and the search spaces (`spaces`).
"""
