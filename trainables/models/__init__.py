"""The models trials build: the BERT classifier, its recipe and checkpoints, NAS shapes, attention,
Tutorial 2's fine-tuning methods and the per-layer inspection view."""
