"""observe(spec) -> ObservedState (the fact models live in reconciler.core.facts): the only I/O
before planning."""
