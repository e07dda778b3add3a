"""camera_service: rollwise's reference application.

A video-surveillance backend in the middle of a migration: every endpoint has a ``legacy``
implementation (:mod:`camera_service.legacy`) and a ``domain`` one
(:mod:`camera_service.domain`), and the rollwise flag ``camera-domain-service`` decides per
client which one serves a request (:mod:`camera_service.selection`).

This module imports nothing on purpose: the camera workers run ``python -m
camera_service.worker`` and must start in milliseconds, without FastAPI. Build the web
application with :func:`camera_service.app.create_app`.
"""

__version__ = "0.1.0"
