"""Declarative reconciler for disk encryption of ApsaraDB RDS for PostgreSQL."""

__version__ = "0.1.0"
