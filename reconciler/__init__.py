"""Declarative reconciler for disk encryption of ApsaraDB RDS for PostgreSQL."""

# The one place the version is written: pyproject.toml reads it (tool.setuptools.dynamic) and
# `reconciler --version` prints it. SemVer; what a major, minor or patch release may change is
# in docs/releases.md, what each release changed in CHANGELOG.md.
__version__ = "0.2.0"
