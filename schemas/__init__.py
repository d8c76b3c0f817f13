"""The hub's public contract as pydantic v2 models (see ``shared/contract.md``).

This package holds data shapes only: no I/O, no Kafka, no database.
"""
