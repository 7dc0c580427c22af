"""Redis reached through Sentinel (SPEC §18): ``redis+sentinel://`` URLs.

``redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db][?sentinel_password=…]``
names the sentinels (26379 when a port is left out), the service (master group) they watch,
and the database. The password is the Redis servers'; ``sentinel_password`` (and
``sentinel_username``) the sentinels' own, when they have one.

The store asks the sentinels for the master at every new connection (redis-py's ``Sentinel``
does the asking), and takes a server for the master only when it says so itself (``ROLE``),
so after a failover the next connection goes to the promoted replica without a restart. A
reply ``READONLY`` means the server it was talking to was demoted: that connection is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote

from otc_framework.errors import ConfigError
from otc_framework.storage.urls import split_url

SCHEME = "redis+sentinel"
DEFAULT_PORT = 26379


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str | None
    password: str | None
    sentinel_username: str | None
    sentinel_password: str | None

    @property
    def location(self) -> str:
        """For messages: never a password."""
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"sentinel {hosts} service {self.service}/{self.db}"

    @property
    def secrets(self) -> list[str]:
        return [secret for secret in (self.password, self.sentinel_password) if secret]

    def server_url(self) -> str:
        """A ``redis://`` URL of the master's credentials and database; its host is a placeholder
        (the sentinels name the master at each connection)."""
        user = quote(self.username or "", safe="")
        login = f"{user}:{quote(self.password, safe='')}@" if self.password else (f"{user}@" if user else "")
        return f"redis://{login}sentinel-master/{self.db}"


def is_sentinel(url: str) -> bool:
    return split_url(url).scheme.lower() == SCHEME


def parse(url: str) -> SentinelUrl:
    """Raises ``ConfigError`` (one line, no secrets) for a URL this module cannot follow."""
    parts = split_url(url)
    netloc = parts.netloc
    login, _, hosts = netloc.rpartition("@")
    username, _, password = login.partition(":") if login else ("", "", "")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        if not host:
            raise ConfigError("store: a sentinel URL needs host:port for each sentinel")
        try:
            sentinels.append((host.strip("[]"), int(port) if port else DEFAULT_PORT))
        except ValueError:
            raise ConfigError("store: a sentinel's port must be a number") from None
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ConfigError("store: a sentinel URL names its service: redis+sentinel://host:26379/<service>[/db]")
    try:
        db = int(path[1]) if len(path) == 2 else 0
    except ValueError:
        raise ConfigError("store: the database of a sentinel URL must be a number") from None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"sentinel_password", "sentinel_username"}
    if unknown:
        raise ConfigError(f"store: unknown sentinel URL options {sorted(unknown)}")
    return SentinelUrl(
        sentinels=tuple(sentinels),
        service=unquote(path[0]),
        db=db,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_username=query.get("sentinel_username"),
        sentinel_password=query.get("sentinel_password"),
    )
