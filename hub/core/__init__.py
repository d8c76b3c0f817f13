"""The pure decision core: no I/O, no clocks read, no Kafka or PostgreSQL imports.

Everything here is a function of its arguments so that the agents, the tests and a
replay all get the same answer from the same input.
"""
