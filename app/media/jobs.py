"""Background job of the media domain, run by ``python -m app.worker``.

``uploads-cleanup``: expires incomplete uploads past their ``Upload-Expires``, deletes bytes left behind,
and finishes uploads whose completion was cut off by a crash (:func:`cleanup_expired_uploads`; every change
is a compare-and-set, so several workers may run it).
"""

from __future__ import annotations

from app.core.jobs import Job
from app.media.cleanup import cleanup_expired_uploads

JOBS = [Job(name="uploads-cleanup", run=cleanup_expired_uploads, interval=300.0)]
