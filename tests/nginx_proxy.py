"""nginx with the shipped ``deployments/production/nginx.conf`` in front of local hosts, for the
deployment test and the soak (``bench/soak.py``): only the upstream addresses and the listening
port are changed, everything else is the file a deployer installs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.test_demo import free_port

SHIPPED = Path(__file__).parents[1] / "deployments" / "production" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render(site: str, ports: list[int], listen: int) -> str:
    """The shipped site with this machine's hosts and port: only addresses change."""
    shipped = re.findall(r"^    server (desk-[a-z]+:8080)", site, re.MULTILINE)
    assert len(shipped) == len(ports), f"the shipped config has {len(shipped)} upstream servers"
    for name, port in zip(shipped, ports, strict=True):
        site = site.replace(f"server {name}", f"server 127.0.0.1:{port}")
    return site.replace("listen 80;", f"listen 127.0.0.1:{listen};")


class Nginx:
    def __init__(self, binary: str, directory: Path, ports: list[int], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        directory.mkdir()
        (directory / "otc.conf").write_text(render(SHIPPED.read_text(), ports, self.port))
        (directory / "nginx.conf").write_text(
            f"worker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n  access_log off;\n  client_body_temp_path {directory}/body;\n"
            f"  proxy_temp_path {directory}/proxy;\n  include {directory}/otc.conf;\n}}\n"
        )
        self.directory = directory
        self.process = subprocess.Popen([binary, "-c", str(directory / "nginx.conf"), "-p", str(directory),
                                         "-g", "daemon off; user root;"], stderr=subprocess.PIPE)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


