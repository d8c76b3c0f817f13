"""Local services for development, tests and the demo: real Apache Kafka and PostgreSQL.

Production runs against the bank's own clusters; nothing here is used there.
"""
