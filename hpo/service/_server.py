"""Running the application: binding, the access token, TLS, and uvicorn.

The server binds 127.0.0.1 unless told otherwise. On any other interface it requires a
bearer token: generated once with :func:`secrets.token_urlsafe`, stored with mode 0600
beside the database (``studies.db.token``), shown once when it is made. Given a
certificate and its key (:class:`TLSFiles`), it speaks HTTPS with uvicorn's own TLS, so
that the token does not cross the network in clear.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.store import storage_path


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_path(storage: str | Path) -> Path:
    path = storage_path(storage)
    return path.with_name(path.name + ".token")


def load_or_create_token(storage: str | Path) -> tuple[str, bool]:
    """The server's token, and whether it was created just now (then show it once)."""
    path = token_path(storage)
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)  # also when the file existed empty with other rights
    return token, True


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port; read it back from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@dataclass(frozen=True)
class TLSFiles:
    """A server certificate (PEM, with its chain after it) and its unencrypted private key."""

    cert: Path
    key: Path

    @classmethod
    def from_options(
        cls,
        cert: str | Path | None,
        key: str | Path | None,
        *,
        names: tuple[str, str] = ("tls_cert", "tls_key"),
    ) -> TLSFiles | None:
        """Both files or neither (None: plain HTTP); raises ValueError with one line if one
        is missing, unreadable or not PEM, or if the key is not the certificate's. ``names``
        are the arguments' names in messages (the CLI's options)."""
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            given, missing = names if key is None else names[::-1]
            raise ValueError(f"{given} needs {missing} too: a certificate and its private key")
        tls = cls(Path(cert), Path(key))
        tls.check(names)
        return tls

    def check(self, names: tuple[str, str] = ("tls_cert", "tls_key")) -> None:
        """Load the pair once as uvicorn will, so that a bad pair is one line before serving."""
        cert, key = f"{names[0]} {str(self.cert)!r}", f"{names[1]} {str(self.key)!r}"
        for what, path in ((cert, self.cert), (key, self.key)):
            if not path.is_file():
                raise ValueError(f"{what}: no such file")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)

        def no_password() -> bytes:  # never a prompt on the terminal
            raise ValueError(f"{key} is encrypted; expected an unencrypted private key")

        try:
            context.load_cert_chain(self.cert, self.key, password=no_password)
        except ssl.SSLError as exc:
            if "KEY_VALUES_MISMATCH" in str(exc):
                raise ValueError(f"{key} is not the private key of {cert}") from None
            raise ValueError(f"{cert}, {key}: expected a PEM certificate and its PEM private "
                             "key") from None  # fmt: skip
        except OSError as exc:
            raise ValueError(f"{cert}, {key}: {exc.strerror or exc}") from None


def url_of(sock: socket.socket, *, tls: bool = False) -> str:
    host, port = sock.getsockname()[:2]
    return f"{'https' if tls else 'http'}://{f'[{host}]' if ':' in host else host}:{port}"


def make_server(
    app: Any, *, log_level: str = "warning", access_log: bool = False, tls: TLSFiles | None = None
) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
        ssl_certfile=None if tls is None else str(tls.cert),
        ssl_keyfile=None if tls is None else str(tls.key),
    )
    return uvicorn.Server(config)


def serve(
    app: Any, sock: socket.socket, *, log_level: str = "warning", tls: TLSFiles | None = None
) -> None:
    """Serve ``app`` on ``sock`` (over TLS with ``tls``) until SIGINT or SIGTERM."""
    make_server(app, log_level=log_level, tls=tls).run(sockets=[sock])


@contextlib.contextmanager
def serving_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, tls: TLSFiles | None = None
) -> Iterator[str]:
    """Serve ``app`` from a thread of this process (tests, notebooks); yields its URL."""
    sock = bind(host, port)
    server = make_server(app, tls=tls)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server did not start")
            threading.Event().wait(0.02)
        yield url_of(sock, tls=tls is not None)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
