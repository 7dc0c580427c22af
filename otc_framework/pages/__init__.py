"""The desk's own pages (SPEC §17): the client dashboard ``/``, the admin panel ``/admin``
and the operator cockpit ``/cockpit``.

Server-rendered shells (Jinja2 templates in ``templates/``) plus small ES modules in
``static/js/``, with no build step and nothing from a CDN: what the desk serves is what is in
the repository. The pages call the public API and its WebSockets like any client, on the
desk's own origin, under a strict Content-Security-Policy (``pages.headers``).
"""
