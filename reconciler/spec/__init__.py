"""YAML -> line-mapped nodes -> pydantic models -> Spec."""
