"""Pruning, split four ways: scores and masks (what decides), structures (what is removed),
the schedule (when), and `fold` (the physical removal)."""
