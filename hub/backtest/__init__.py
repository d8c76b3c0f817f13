"""``hub backtest``: replay the stored history through a candidate rule file.

:mod:`.run` reads the history and drives the pure backtest (:mod:`hub.core.backtest`);
:mod:`.terminal` and :mod:`.html` show its report.
"""
