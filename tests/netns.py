"""Test hosts on one machine: network namespaces joined by a bridge, for tests of several hosts.

``hosts(n)`` makes ``n`` network namespaces, each a :class:`Host` with one interface
(``eth0``, a veth pair) and an address on a private subnet (10.232.0.0/24), all plugged
into a bridge that lives in one more namespace of its own: nothing is added to the
machine's own network, and the hosts reach only each other. A host runs commands with
``popen``/``run`` (``ip netns exec``); folders in ``hide`` are covered by an empty tmpfs
in a private mount namespace (``unshare --mount``), as on a machine that does not have
them. On exit, also on failure, every process in the namespaces is killed and the
namespaces are deleted.

Needs root and iproute2 (``make netns`` installs it); :func:`netns_available` says why
not, for ``pytest.skip``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBNET = "10.232.0"  # /24; host i is SUBNET.(i + 1)
_names = itertools.count()


@functools.cache
def netns_available() -> str | None:
    """None if network namespaces can be made here, else the reason (to skip a test)."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs the tests as root)"
    for tool, package in (("ip", "iproute2 (make netns)"), ("unshare", "util-linux")):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed; it comes with {package}"
    probe = f"hpo{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip() or made.returncode}"
    _ip("netns", "del", probe, check=False)
    return None


@dataclass
class Host:
    """One test host: a network namespace with address ``ip`` on the test subnet."""

    name: str
    ip: str
    hide: tuple[Path, ...] = ()
    _procs: list[subprocess.Popen] = field(default_factory=list, repr=False)

    def command(self, args: Sequence[str | os.PathLike[str]]) -> list[str]:
        """``args`` as run inside this host (and with its folders hidden)."""
        inner = [os.fspath(a) for a in args]
        if self.hide:
            # Mount an empty tmpfs over each hidden folder, then exec the command.
            script = ('n=$1; shift; while [ "$n" -gt 0 ]; do mount -t tmpfs -o size=1m hidden '
                      '"$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"')  # fmt: skip
            hidden = [str(p) for p in self.hide]
            inner = ["unshare", "--mount", "--propagation", "private",
                     "sh", "-c", script, "sh", str(len(hidden)), *hidden, *inner]  # fmt: skip
        return ["ip", "netns", "exec", self.name, *inner]

    def popen(self, args: Sequence[str | os.PathLike[str]], **kw: Any) -> subprocess.Popen:
        """Start ``args`` on this host (``subprocess.Popen`` keywords); killed at the end."""
        kw.setdefault("start_new_session", True)
        proc = subprocess.Popen(self.command(args), **kw)
        self._procs.append(proc)
        return proc

    def run(self, args: Sequence[str | os.PathLike[str]], **kw: Any) -> subprocess.CompletedProcess:
        """Run ``args`` on this host to the end (``subprocess.run``; text output captured
        unless told otherwise)."""
        kw.setdefault("text", True)
        if not any(k in kw for k in ("stdout", "stderr", "capture_output")):
            kw["capture_output"] = True
        return subprocess.run(self.command(args), **kw)

    def pids(self) -> list[int]:
        """Every process in this host's network namespace."""
        listed = _ip("netns", "pids", self.name, check=False)
        return [int(p) for p in listed.stdout.split()]

    def kill(self) -> None:
        """The host dies: SIGKILL to every process in it, no goodbye."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in self._procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


@contextlib.contextmanager
def hosts(n: int, *, hide: Sequence[Path] = ()) -> Iterator[list[Host]]:
    """``n`` hosts on one bridge (10.232.0.1, .2, …); ``hide``: folders they do not see.

    Args:
        n: how many hosts (1 to 250).
        hide: folders covered by an empty tmpfs for every command run on the hosts.
    """
    if not 1 <= n <= 250:
        raise ValueError(f"n={n}: expected 1 to 250 hosts")
    reason = netns_available()
    if reason is not None:
        raise RuntimeError(f"no network namespaces: {reason}")
    prefix = f"hpo{os.getpid()}-{next(_names)}"
    switch = f"{prefix}-sw"
    made: list[str] = []
    made_hosts: list[Host] = []
    try:
        _ip("netns", "add", switch)
        made.append(switch)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        for i in range(n):
            host = Host(f"{prefix}-h{i}", f"{SUBNET}.{i + 1}", tuple(Path(p) for p in hide))
            _ip("netns", "add", host.name)
            made.append(host.name)
            made_hosts.append(host)
            # The pair is made inside the host, its other end moved straight to the switch:
            # nothing appears in the machine's own namespace, not even for a moment.
            _ip("-n", host.name, "link", "add", "eth0", "type", "veth",
                "peer", "name", f"p{i}", "netns", switch)  # fmt: skip
            _ip("-n", switch, "link", "set", f"p{i}", "master", "br0", "up")
            _ip("-n", host.name, "addr", "add", f"{host.ip}/24", "dev", "eth0")
            _ip("-n", host.name, "link", "set", "eth0", "up")
            _ip("-n", host.name, "link", "set", "lo", "up")
        yield made_hosts
    finally:
        for host in made_hosts:
            host.kill()
        for name in reversed(made):
            _ip("netns", "del", name, check=False)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done
