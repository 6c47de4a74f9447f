"""Where the real Asterisk 22 Swagger (ARI API) files are: in the cached root filesystem.

`./dev test` builds that root filesystem before pytest runs, so the checks against the real
API definitions always run; ARI_SWAGGER_DIR points elsewhere if needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from stadtruf.asterisk.topology import rootfs_path


def swagger_dir() -> Path:
    override = os.environ.get("ARI_SWAGGER_DIR")
    if override:
        return Path(override)
    return rootfs_path() / "usr" / "share" / "asterisk" / "rest-api"
