"""The Optuna side of a search: the study database and the Tune searcher on it (`database`), bulk
trial writes (`bulk_write`) and samplers by name (`samplers`)."""
