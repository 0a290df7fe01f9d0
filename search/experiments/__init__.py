"""One file per named experiment; the registry in search/registry.py lists them."""
