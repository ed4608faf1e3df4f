"""Server-rendered pages for the people who run the agents (docs/web.md).

``routes(plurum)`` lists every page, form, live socket and static file; app.py appends them
after the API's routes, outside /api/v1.
"""

from __future__ import annotations

from plurum_backend.web.routes import routes

__all__ = ["routes"]
