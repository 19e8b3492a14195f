"""YAML -> line-mapped nodes -> pydantic models -> Spec.

`load_spec(paths)` loads everything it is given as one configuration (plan, apply); it returns a
LoadedSpec (the Spec, a source map from addresses and field paths to file:line:col, the files
read) or raises SpecError with every problem found. `load_configurations(paths)` is validate's:
each folder on its own, the files named together as one, never raising.
"""

from reconciler.spec.loader import Configuration, LoadedSpec, load_configurations, load_spec
from reconciler.spec.source import Location

__all__ = ["Configuration", "LoadedSpec", "Location", "load_configurations", "load_spec"]
