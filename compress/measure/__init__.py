"""Measurement: timing, quality metrics, memory, environment, and the benchmark that combines them."""
