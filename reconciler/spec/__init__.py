"""YAML -> line-mapped nodes -> pydantic models -> Spec.

`load_spec(paths)` is the entry point; it returns a LoadedSpec (the Spec, a source map from
addresses and field paths to file:line:col, the files read) or raises SpecError with every
problem found.
"""

from reconciler.spec.loader import LoadedSpec, load_spec
from reconciler.spec.source import Location

__all__ = ["LoadedSpec", "Location", "load_spec"]
