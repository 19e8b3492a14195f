"""Moved to reconciler/kinds/ram/attachments.py (issue 17); this name stays for the modules
that still import it (drift/findings.py, drift/importer.py)."""

from reconciler.kinds.ram.attachments import address, unwanted_attachments

__all__ = ["address", "unwanted_attachments"]
