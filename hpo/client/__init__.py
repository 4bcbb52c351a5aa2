"""A small Python client of the service (``hpo serve``), with a function-style loop::

    import hpo.client

    study = hpo.client.connect("http://127.0.0.1:8000").study("mlp")
    for trial in study.trials():                 # until the study is finished
        model = build(trial.config, seed=trial.seed)
        if trial.resume:                         # a paused trial, promoted
            model.load(trial.restore())
        for epoch in trial.epochs():             # from_epoch + 1 … until_epoch
            if trial.report(epoch, train_one_epoch(model)) != "continue":
                break
        trial.checkpoint(model.state())          # kept when the trial paused

Every call retries with backoff when the server cannot be reached (a restart, a
dropped connection) for up to ``retry_for`` seconds; the API is idempotent where a retry
could repeat a call (the same ``client_id`` gets the same assignment, a report of the
same epoch is recorded once). A lease lost to another client (this one was silent too
long) makes :meth:`Trial.report` answer ``stop``.

An ``https://`` URL is verified against the public CAs (certifi's, as httpx does); a server
with a certificate of a private CA is trusted with ``ca=`` (or ``$HPO_CA``), the CA's PEM
file. A certificate that cannot be verified is refused at once with one line, not retried.

Checkpoints travel as pickles of whatever the training code passes: load them only from
a server you trust, as with any pickle.

The package: :mod:`~hpo.client._client` the connection (:class:`Client`, with TLS and
retries), :mod:`~hpo.client._study` a study and its loop, :mod:`~hpo.client._trial` an
assignment (:class:`Trial`, the same ``trial`` as in-process) and its heartbeats,
:mod:`~hpo.client._errors` what a client raises.
"""

from hpo.client._client import RETRIED_STATUS, Client, connect, tls_verification
from hpo.client._errors import TLS_MISMATCH, ClientError, StudyOver
from hpo.client._study import Study, default_client_id
from hpo.client._trial import Trial

__all__ = [
    "RETRIED_STATUS",
    "TLS_MISMATCH",
    "Client",
    "ClientError",
    "Study",
    "StudyOver",
    "Trial",
    "connect",
    "default_client_id",
    "tls_verification",
]
