"""``make bench``: the hub's throughput and latency against two baselines on one broker."""
