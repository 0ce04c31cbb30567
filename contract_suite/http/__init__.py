"""HTTP: the run's one bounded transport, and the network it reaches the target through (proxies, TLS)."""
