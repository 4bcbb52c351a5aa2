"""Test hosts on one machine: network namespaces joined by a bridge, for multi-host tests.

Each host is a network namespace (``ip netns``) with one veth interface on a private
subnet, 10.231.N.0/24, whose peer sits on a bridge inside a namespace of its own (the
"switch"), so nothing of it touches the machine's own network. Commands run in a host
through ``ip netns exec`` and ``unshare --mount``, in a private mount namespace where:

* ``/tmp/ray`` is the host's own folder (Ray keeps its sockets and sessions there, and
  two nodes of one machine must not share it), and
* the folders in ``hide`` are covered by an empty tmpfs on every host but the first (the
  user's machine): the user's folder exists only where the search starts.

Everything is torn down on exit, on failure too: every process of every namespace is
killed (``ip netns pids``, so nothing outside them), the namespaces are deleted.

    >>> reason = netns_available()
    >>> with hosts(2) as (a, b):  # doctest: +SKIP
    ...     a.run(["ping", "-c1", b.ip])
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The private subnet's third octet comes from the process id, so that two test sessions
#: (or two engineers) on one machine do not meet.
_OCTET = 100 + os.getpid() % 150


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def netns_available() -> str | None:
    """None if network namespaces can be made here; else why not (the reason to skip)."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces need Linux, not {sys.platform}"
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    for tool, package in (("ip", "iproute2"), ("unshare", "util-linux")):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed (Debian's {package}; `make test` installs it)"
    probe = f"hpoprobe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip() or made.returncode}"
    _ip("netns", "delete", probe, check=False)
    test = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if test.returncode != 0:
        return f"cannot make a mount namespace: {test.stderr.strip() or test.returncode}"
    return None


@dataclass
class Host:
    """One test host: a network namespace with an address on the private subnet."""

    name: str
    ip: str
    home: Path  # this host's private folders (its /tmp/ray)
    hide: Sequence[Path] = ()
    procs: list[subprocess.Popen] = field(default_factory=list)

    def _wrap(self, args: Sequence[str]) -> list[str]:
        """``args`` inside this namespace, in a private mount namespace (own /tmp/ray, the
        hidden folders covered)."""
        mounts = [f"mount --bind {self.home / 'ray'} /tmp/ray"]
        mounts += [f"mount -t tmpfs -o size=1m hpo-hidden {p}" for p in self.hide]
        script = " && ".join([*mounts, 'exec "$@"'])
        return ["ip", "netns", "exec", self.name, "unshare", "--mount", "--propagation",
                "private", "sh", "-c", script, "sh", *args]  # fmt: skip

    def popen(self, args: Sequence[str], **kw) -> subprocess.Popen:
        """Start ``args`` in this host (its own process group); killed at teardown. Ctrl-C
        is given back: a shell runs background jobs (as CI does) with SIGINT ignored."""
        kw.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        proc = subprocess.Popen(self._wrap(args), start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def run(self, args: Sequence[str], **kw) -> subprocess.CompletedProcess:
        """Run ``args`` in this host to the end (as subprocess.run)."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self._wrap(args), **kw)

    def pids(self) -> list[int]:
        """Every process in this host's network namespace."""
        out = _ip("netns", "pids", self.name, check=False).stdout
        return [int(p) for p in out.split()]

    def kill_all(self) -> None:
        """SIGKILL every process of this host at once (a machine that is lost)."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


@contextlib.contextmanager
def hosts(n: int, *, hide: Sequence[Path] = ()) -> Iterator[list[Host]]:
    """``n`` hosts on one bridge, at 10.231.N.1, .2, …; ``hide`` covered on all but the
    first. Everything they started is killed and the namespaces deleted on exit."""
    prefix = f"hpo{os.getpid()}"
    switch = f"{prefix}sw"
    home = Path(tempfile.mkdtemp(prefix=f"{prefix}-hosts-"))
    Path("/tmp/ray").mkdir(exist_ok=True)  # the mount point of each host's own folder
    made: list[str] = []
    group: list[Host] = []
    try:
        _ip("netns", "add", switch)
        made.append(switch)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        for i in range(n):
            name = f"{prefix}h{i}"
            _ip("netns", "add", name)
            made.append(name)
            _ip("link", "add", f"{prefix}v{i}", "netns", switch, "type", "veth",
                "peer", "name", "eth0", "netns", name)  # fmt: skip
            _ip("-n", switch, "link", "set", f"{prefix}v{i}", "master", "br0", "up")
            ip = f"10.231.{_OCTET}.{i + 1}"
            _ip("-n", name, "addr", "add", f"{ip}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
            (home / name / "ray").mkdir(parents=True)
            group.append(Host(name, ip, home / name, hide=tuple(hide) if i else ()))
        yield group
    finally:
        for host in group:
            host.kill_all()
            for proc in host.procs:
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        for name in reversed(made):
            _ip("netns", "delete", name, check=False)
        shutil.rmtree(home, ignore_errors=True)
