"""``hub api``: the read-only customer API and the customer 360 page for relationship managers."""
