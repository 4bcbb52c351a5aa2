"""What a client of the service raises: a refusal, the end of a study, a TLS failure.

A server that refuses a request is a :class:`ClientError` (its status and one sentence);
a study that is over is :class:`StudyOver`. A TLS failure that retrying cannot heal (a
certificate that cannot be verified, a server that does not speak TLS) is one
:class:`ClientError` at once (:func:`_refuse_tls_failure`), never retried.
"""

from __future__ import annotations

import ssl

from hpo.errors import HpoError


class ClientError(HpoError, RuntimeError):
    """The server refused a request (``status``, and its one-sentence ``message``)."""

    __module__ = "hpo.client"  # where users import it from, as tracebacks name it

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class StudyOver(ClientError):
    """The study is finished or stopped: there is no more work."""

    __module__ = "hpo.client"


#: OpenSSL's reasons for a server that does not speak TLS (http behind an https:// URL) or
#: no version both sides speak: retrying cannot heal them.
TLS_MISMATCH = frozenset({"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "UNSUPPORTED_PROTOCOL",
                          "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE"})  # fmt: skip


def _refuse_tls_failure(url: str, exc: BaseException) -> None:
    """A certificate that cannot be verified, or a server that does not speak TLS, does not
    heal by retrying: raise it at once, in one line. Any other TLS error (an EOF or a
    closed connection while the server restarts) is a transport error, retried."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = cause.verify_message or cause.reason or "certificate verify failed"
        hint = ("the certificate does not name this host" if "mismatch" in reason.lower()
                else "a server with a private CA needs its CA certificate: --ca FILE or HPO_CA")  # fmt: skip
        raise ClientError(0, f"cannot verify the TLS certificate of {url} ({reason}); {hint}")
    if isinstance(cause, ssl.SSLError) and getattr(cause, "reason", None) in TLS_MISMATCH:
        raise ClientError(0, f"no TLS connection to {url} ({cause.reason or cause}); "
                             "does the server speak https (hpo serve --tls-cert)?")  # fmt: skip
