"""Where a later stage starts: the best checkpoint of an earlier stage's results table
(`stage_inputs`), and the experiment Lab 3 starts from, `base` or `lab2-nas` (`lab3_start`)."""
