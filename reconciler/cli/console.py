"""What the terminal gets: colour and progress, decided per stream and by the environment.

Colour (each stream decides for itself: `reconciler plan 2>log` on a terminal is coloured):
1. NO_COLOR set and not empty: never (https://no-color.org; it wins over FORCE_COLOR);
2. FORCE_COLOR set, not empty and not 0/false: always, even piped or in CI (a CI log that
   renders ANSI on purpose);
3. CI set: never;
4. otherwise: when the stream is a terminal.
The progress bar is live output on stderr: only on a terminal and outside CI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO


def use_color(stream: TextIO | Any, environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("NO_COLOR"):
        return False
    force = environ.get("FORCE_COLOR", "")
    if force and force.strip().lower() not in ("0", "false", "no"):
        return True
    if environ.get("CI"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def show_progress(environ: Mapping[str, str] = os.environ) -> bool:
    """A live progress bar on stderr: a terminal, outside CI."""
    return not environ.get("CI") and sys.stderr.isatty()
