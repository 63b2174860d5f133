"""Training: one loop (`loop.train`) extended by hooks."""
