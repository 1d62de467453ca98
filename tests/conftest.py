"""Suite-wide settings: the tests never read or write the user's JAX compilation cache (the
command line's default, ``cli.compilation_cache_dir``); subprocesses inherit this too."""

from __future__ import annotations

import os

os.environ["JAXINV_COMPILATION_CACHE"] = "0"
