"""Whether this process runs from the Retouch image (see Dockerfile).

The image sets `RETOUCH_IN_CONTAINER=1`; nothing else does. Marker files such as
`/.dockerenv` or `/run/.containerenv` are not used: they mark *any* container, also a CI
machine, a VM image or a dev container that runs a plain checkout, where the image's
advice (the /data volume, its uid, `docker compose` commands) does not apply.
"""

from __future__ import annotations

import os
from typing import Mapping

MARKER = "RETOUCH_IN_CONTAINER"  # set by the Dockerfile's ENV
IMAGE_UID = 10001  # the image's non-root user (Dockerfile: USER 10001:10001)


def in_container(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(MARKER, "").strip() == "1"
