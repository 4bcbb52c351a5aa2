"""Serving: ``hpo serve`` (the service: the API for clients and workers, and the dashboard)
and ``hpo dashboard`` (a read-only dashboard, or one offline HTML file).

Both bind a port, say where they listen and serve until Ctrl-C; the token (any host but
loopback needs it) and TLS are checked before anything listens.
"""

from __future__ import annotations

from typing import Any

import click

from hpo.cli._errors import UsageError, refused
from hpo.cli._options import storage_option, tls_cert_option, tls_key_option


@click.command()
@click.argument("study", required=False)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8050,
    show_default=True,
    help="0: any free port.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; any but loopback needs the token (made once, kept beside the database).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False),
    help="Write one offline HTML file instead of serving.",
)
@tls_cert_option
@tls_key_option
@storage_option
def dashboard(study: str | None, port: int, host: str, html_file: str | None, tls_cert: str | None,
              tls_key: str | None, storage: str) -> None:  # fmt: skip
    """Serve a live dashboard of STUDY (or of every study), read-only, or export it as HTML."""
    from hpo.dashboard import DashboardData, study_url, write_html
    from hpo.service import create_app

    if html_file:
        if not study:
            raise UsageError("--html needs a STUDY to export")
        path = write_html(storage, study, html_file)
        click.echo(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB, works offline)")
        return
    if study is not None:
        DashboardData(storage).study(study)  # an unknown study is an error now, not a 404 later
    tls = _server_tls(tls_cert, tls_key)
    token = _server_token(host, storage, required=None)
    _warn_clear_token(host, token, tls)
    app = create_app(storage, token=token, readonly=True)
    path = study_url(study) if study else "/"
    _serve(
        app, host, port, f"dashboard of {study or 'every study'} at {{url}}{path} (Ctrl-C to stop)",
        tls=tls,
    )  # fmt: skip
    click.echo("dashboard stopped")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; any but loopback needs the token.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="0: any free port.")  # fmt: skip
@click.option("--auth/--no-auth", default=None,
              help="Require the bearer token. [default: only off loopback]")  # fmt: skip
@click.option("--max-checkpoint-mb", type=click.FloatRange(min=0, min_open=True), default=64.0,
              show_default=True, help="The largest checkpoint a client may upload.")  # fmt: skip
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="warning", show_default=True)  # fmt: skip
@tls_cert_option
@tls_key_option
@storage_option
def serve(host: str, port: int, auth: bool | None, max_checkpoint_mb: float, log_level: str,
          tls_cert: str | None, tls_key: str | None, storage: str) -> None:  # fmt: skip
    """Serve the search as a service: the API for clients and workers, and the dashboard."""
    from hpo.service import create_app

    tls = _server_tls(tls_cert, tls_key)
    token = _server_token(host, storage, required=auth)
    _warn_clear_token(host, token, tls)
    app = create_app(storage, token=token, max_checkpoint_bytes=int(max_checkpoint_mb * 2**20))
    _serve(app, host, port, f"hpo service at {{url}} (API: {{url}}/docs, dashboard: {{url}}/), "
           f"studies in {storage}; Ctrl-C to stop", log_level=log_level, tls=tls)  # fmt: skip
    click.echo("server stopped")


def _server_token(host: str, storage: str, *, required: bool | None) -> str | None:
    """The token a server on ``host`` requires (None on loopback unless asked for)."""
    from hpo.service import is_loopback, load_or_create_token, token_path

    if required is False and not is_loopback(host):
        raise UsageError(f"--host {host} is reachable from other machines; it needs the token "
                         "(drop --no-auth)")  # fmt: skip
    if not required and is_loopback(host):
        return None
    token, created = load_or_create_token(storage)
    if created:
        click.echo(f"token (shown once; kept in {token_path(storage)}, mode 0600): {token}")
    else:
        click.echo(f"token: in {token_path(storage)} (clients: --token or HPO_TOKEN)")
    return token


def _server_tls(cert: str | None, key: str | None) -> Any:
    """The server's certificate and key (a ``TLSFiles``), None for plain HTTP; checked now."""
    from hpo.service import TLSFiles

    with refused():
        return TLSFiles.from_options(cert, key, names=("--tls-cert", "--tls-key"))


def _warn_clear_token(host: str, token: str | None, tls: Any) -> None:
    """One line when a token would cross the network in clear (off loopback, no TLS)."""
    from hpo.service import is_loopback

    if token is not None and tls is None and not is_loopback(host):
        click.echo(f"warning: --host {host} without --tls-cert/--tls-key: the token crosses the "
                   "network in clear (anyone on the path can read it and use it)", err=True)  # fmt: skip


def _serve(app: Any, host: str, port: int, banner: str, log_level: str = "warning",
           tls: Any = None) -> None:  # fmt: skip
    from hpo.service._server import bind, serve, url_of

    try:
        sock = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(banner.format(url=url_of(sock, tls=tls is not None)))
    try:
        serve(app, sock, log_level=log_level, tls=tls)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


COMMANDS = [dashboard, serve]
