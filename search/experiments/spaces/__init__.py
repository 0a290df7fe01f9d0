"""Search spaces that are more than a grid: Lab 2's BERT architectures (`nas`), Lab 3's per-layer
number formats (`precisions`)."""
