"""Drift and import (docs/drift-format.md): what differs between the spec and the cloud, as a
DriftReport built purely from the spec and the observed state (report.py), and the observed
state written back as spec YAML (importer.py)."""
