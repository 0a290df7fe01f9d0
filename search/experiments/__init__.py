"""The experiments: the registry (`registry`), what an experiment is (`experiment`), one module per
experiment, the stage inputs a later stage starts from (`stage_inputs`) and their search spaces (`spaces`).
"""
