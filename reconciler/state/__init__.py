"""Observed* models and observe(spec) -> ObservedState: the only I/O before planning."""
