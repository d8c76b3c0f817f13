"""Backtesting a rule file over stored history: the pure parts.

:mod:`.replay` runs one customer's stored events through the worker's own fold
(:func:`hub.core.fold.decide_batch`), :mod:`.tally` turns the decisions into the
report's figures per rule, :mod:`.compare` sets a candidate rule file against the rules
in force. Reading the history and printing the report are the adapters'
(:mod:`hub.storage.history_replay`, :mod:`hub.backtest`).
"""
