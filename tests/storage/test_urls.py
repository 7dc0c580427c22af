from urllib.parse import urlsplit

import pytest

from otc_framework.storage.urls import split_url


def test_several_hosts_with_a_bracketed_ipv6_one_are_split_as_written() -> None:
    # urlsplit refuses this on Pythons with the CVE-2024-11168 fix (anything before a bracket).
    parts = split_url("postgres://u:p%40ss@10.0.0.1:5432,[::1]:5433/desk?target_session_attrs=any#f")
    assert (parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment) == (
        "postgres", "u:p%40ss@10.0.0.1:5432,[::1]:5433", "/desk", "target_session_attrs=any", "f")
    assert parts.geturl() == "postgres://u:p%40ss@10.0.0.1:5432,[::1]:5433/desk?target_session_attrs=any#f"


@pytest.mark.parametrize("url", [
    "postgres://otc:secret@127.0.0.1:5432/otc?maxsize=20", "redis://localhost:6379/0", "Redis://h?x=1",
    "sqlite:///var/lib/otc/desk.sqlite3", "sqlite://:memory:", "memory://", "postgres://[::1]:5432/otc",
])
def test_a_single_host_url_splits_as_urlsplit_splits_it(url: str) -> None:
    assert split_url(url) == urlsplit(url)
