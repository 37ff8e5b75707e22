"""Server processes for tests: free ports, a log file each, readiness waits, and no orphans.

Every server runs in its own session (process group) with its output in a log file, so a
timeout can quote the log's tail and a stop can kill the whole group. Three layers keep a test run
from leaving servers behind:

1. the fixture's teardown calls `stop()`;
2. `atexit` stops whatever is still running when the interpreter exits (Ctrl-C, a crash in
   pytest itself);
3. the kernel's parent-death signal (`PR_SET_PDEATHSIG`) reaches the server if the test process
   is killed outright (SIGKILL, an OOM kill), when no Python code runs at all.

The parent-death signal is tied to the thread that started the child, so start servers from a
thread that lives as long as they should (pytest's session fixtures run in the main thread).

After a hard kill no cleanup code runs, so each server's temp dir names its owner's pid: the next
run removes dirs whose owner is gone (`make_workdir`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from tests.wait import until

# prctl(2) option; resolved in the parent so the forked child only makes a plain call.
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl

_running: set[ServerProcess] = set()

_OWNER = "owner.pid"
_ALSO_REMOVE = "also-remove.txt"


class ServerError(RuntimeError):
    """A test server failed to start or answer; the message carries the tail of its log."""


def free_ports(count: int) -> list[int]:
    """Return `count` distinct TCP ports that are free on 127.0.0.1 right now.

    The sockets are held open together so the kernel cannot hand out one port twice. Another
    process may still take a port between this call and the server's bind, which is why
    callers retry a start that fails with "address already in use".
    """
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def make_workdir(prefix: str) -> Path:
    """A fresh temp dir for one server, marked with this process's pid; sweeps stale ones first."""
    for stale in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = int((stale / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being set up
        if not _alive(owner):
            remove_workdir(stale)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    (path / _OWNER).write_text(str(os.getpid()))
    return path


def also_remove(workdir: Path, paths: Sequence[Path]) -> None:
    """Files outside `workdir` that a server leaves behind, for `remove_workdir` to delete."""
    with (workdir / _ALSO_REMOVE).open("a") as listing:
        listing.writelines(f"{path}\n" for path in paths)


def remove_workdir(workdir: Path) -> None:
    with contextlib.suppress(OSError):
        for line in (workdir / _ALSO_REMOVE).read_text().splitlines():
            Path(line).unlink(missing_ok=True)
    shutil.rmtree(workdir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent(death_signal: signal.Signals) -> Callable[[], None]:
    parent = os.getpid()

    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        # The parent may have died between fork and prctl: then no signal would ever come.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


class ServerProcess:
    """One server process group, its log file, and how to stop it.

    `stop_signal` is sent to the leader first (JupyterHub stops its users' servers on SIGTERM);
    after `stop_grace` seconds, or at once when no `stop_signal` is given (SeaweedFS ignores
    SIGTERM), the whole group gets SIGKILL. A log line matching `fatal` ends a wait at once:
    a server that failed to bind one of its ports may log it and then hang on for a while.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        death_signal: signal.Signals = signal.SIGKILL,
        stop_signal: signal.Signals | None = None,
        stop_grace: float = 0.0,
        fatal: re.Pattern[str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.death_signal = death_signal
        self.stop_signal = stop_signal
        self.stop_grace = stop_grace
        self.fatal = fatal
        self._log_start = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()  # the log may hold an earlier attempt's lines
        self._proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(self.death_signal),
        )
        _running.add(self)

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise ServerError(f"{self.name} was never started")
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        """What this process has logged so far (not earlier attempts sharing the file)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                return log.read().decode(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"

    def logged(self, pattern: re.Pattern[str]) -> bool:
        return pattern.search(self.log_text()) is not None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def failure(self, message: str) -> ServerError:
        """A `ServerError` for `message` that quotes the tail of this server's log."""
        return ServerError(
            f"{self.name}: {message}\n--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def wait_until(
        self, check: Callable[[], object], *, what: str, timeout: float, interval: float = 0.1
    ) -> None:
        """Call `check` until it returns a true value (`tests.wait.until`); fail fast if the
        process exits or logs a fatal line. Exceptions from `check` mean "not yet": the last one
        is reported on timeout, with the tail of the log."""
        errors: list[BaseException] = []

        def ready() -> bool:
            if not self.alive():
                code = self._proc.returncode if self._proc else None
                raise self.failure(f"exited with code {code} while waiting until {what}")
            fatal = self.fatal.search(self.log_text()) if self.fatal else None
            if fatal:
                raise self.failure(f"logged {fatal.group(0)!r} while waiting until {what}")
            try:
                return bool(check())
            except Exception as exc:
                errors[:] = [exc]
                return False

        try:
            until(ready, timeout=timeout, every=interval, what=what, not_yet=())
        except AssertionError:
            detail = f" (last error: {errors[0]!r})" if errors else ""
            raise self.failure(f"timed out after {timeout:g} s waiting until {what}{detail}") \
                from None

    def rss_bytes(self) -> int:
        """Resident memory of the leader process, from /proc (0 once it has exited)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        """Stop the process group, and the groups its descendants started (a hub's managed
        services run in sessions of their own); safe to call twice and on a process that
        already exited."""
        proc = self._proc
        _running.discard(self)
        if proc is not None:
            # Read before the stop: once the server exits, its children belong to init.
            others = {g for pid in _descendants(proc.pid)
                      if (g := _group(pid)) is not None} - {proc.pid}
            if self.stop_signal is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self.stop_signal)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(self.stop_grace)
            # Kill the group even when the leader is gone: its children may not be.
            for group in (proc.pid, *others):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None


def _descendants(pid: int) -> list[int]:
    """Every living descendant of `pid`, from /proc (empty where there is none)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            ppid = int(entry.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _group(pid: int) -> int | None:
    """The process group of `pid`; None once it has exited (it may, between reads)."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


class LocalServer:
    """A server made of local processes on free ports, in a work dir of its own.

    `start` is retried when a port picked by `free_ports` was taken by another process before
    the bind (a lost race, which the subclass recognises in its logs); any other failure is
    final. `stop(keep_workdir=True)` keeps the logs to read after a failed start.
    """

    workdir_prefix = "classops-"

    def __init__(self, workdir: Path | None = None,
                 pick_ports: Callable[[int], list[int]] = free_ports) -> None:
        self._own_workdir = workdir is None
        self._pick_ports = pick_ports  # injectable, to test the retry after a lost port race
        self.workdir = workdir or make_workdir(self.workdir_prefix)
        self.startup_seconds = 0.0

    def _start_once(self, timeout: float) -> None:
        raise NotImplementedError

    def _lost_port_race(self) -> bool:
        raise NotImplementedError

    def _kill(self) -> None:
        raise NotImplementedError

    def _start_with_retries(self, timeout: float, attempts: int) -> None:
        began = time.monotonic()
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(timeout)
                break
            except ServerError:
                lost_race = self._lost_port_race()
                self._kill()
                if not lost_race or attempt == attempts:
                    raise
        self.startup_seconds = time.monotonic() - began

    def stop(self, keep_workdir: bool = False) -> None:
        """Stop the processes; `keep_workdir` keeps the logs to read after a failed start."""
        self._kill()
        if self._own_workdir and not keep_workdir:
            remove_workdir(self.workdir)


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()
