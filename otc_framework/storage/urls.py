"""Splitting a server URL that may name several servers (``host1:5432,[::1]:5433``).

``urllib.parse.urlsplit`` refuses such a URL on current Pythons when a bracketed IPv6 host is
not the first: since the fix for CVE-2024-11168 (3.11.11, 3.12.8, 3.13.1, and distributions'
backports, Debian 12's 3.11.2 among them) nothing may come before a bracket in the host part,
and a list of hosts puts the others there. The netloc is taken here as it is written; the rest
of the URL is split by ``urlsplit`` as before.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

_PLACEHOLDER = "host"


def split_url(url: str) -> SplitResult:
    """``urlsplit(url)``, with the netloc as written (one host or several)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return urlsplit(url)
    ends = [at for at in (rest.find(mark) for mark in "/?#") if at >= 0]
    end = min(ends, default=len(rest))
    return urlsplit(f"{scheme}://{_PLACEHOLDER}{rest[end:]}")._replace(netloc=rest[:end])
