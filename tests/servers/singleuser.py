"""A stand-in for `jupyterhub-singleuser` that the test hub's spawner really starts and stops.

The real single-user server needs jupyter_server and its stack (tens of packages, ~100 MB RSS per
user). The hub itself only needs a process that listens on the URL it was given
(`JUPYTERHUB_SERVICE_URL`) and answers HTTP below 500, and that stops on SIGINT/SIGTERM: that is
enough for a real spawn, poll and stop lifecycle. Standard library only, ~20 MB RSS per user.

The spawner puts each server in its own session, so killing the hub's process group does not
reach it: it therefore exits by itself when its parent (the hub) goes away.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {"user": os.environ.get("JUPYTERHUB_USER", ""), "path": self.path}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        # Without it the hub warns that the server is older than 0.8.
        self.send_header("X-JupyterHub-Version", os.environ.get("CLASSOPS_STANDIN_HUB_VERSION", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"singleuser {os.environ.get('JUPYTERHUB_USER', '?')}: {format % args}\n")


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main() -> None:
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    server = ThreadingHTTPServer((url.hostname or "127.0.0.1", url.port or 8888), Handler)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    # The spawner stops us with SIGINT first: a quiet exit, not a traceback in the hub's log.
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
