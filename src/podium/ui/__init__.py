"""The web UI (`/ui`): server-rendered pages (Jinja2 templates, htmx, vendored static assets) over
the same services as the API."""
