"""Declarative rules: their file format (``spec``) and their evaluation (``engine``)."""
