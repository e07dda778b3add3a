"""The operator's dashboard: a small static web page served at ``/ui/``.

The page is a shell of plain HTML, CSS and JavaScript modules shipped inside the package
(no build step, no third-party code, nothing fetched from another host). It holds no data:
it asks for an API token once, keeps it in the tab's ``sessionStorage`` and reads and acts
through the same JSON API as everyone else, so a read token can look and only a write token
can pause, resume, promote, abort or retry a rollout. See docs/dashboard.md.
"""

from .routes import router

__all__ = ["router"]
