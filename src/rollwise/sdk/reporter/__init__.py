"""Shipping what the SDK measured to the control plane, in the background.

Every window (the recorder's, 10 s by default, aligned to the wall clock) a tick drains:

- the recorder's closed request windows (per flag, variant and route),
- evaluation counts per flag and variant (the usage share; counted only while a reporter
  runs, see :meth:`rollwise.Client.set_usage_counting`),
- dual-run comparison counts and mismatch samples,
- per-request override decisions,

turns them into :class:`~rollwise.core.telemetry.TelemetryBatch` objects and queues them.
A sender thread POSTs each batch to ``{url}/api/v1/sdk/telemetry`` with the sdk token.

Guarantees:

- **Never blocks a request.** The request path only touches in-memory counters; ticks
  and sends run on the reporter's own two threads. Nothing starts before :meth:`start`.
- **Bounded memory.** At most ``queue_size`` batches wait (plus the one being sent); when
  full, the oldest is dropped. Drops are counted in :meth:`Reporter.health` and reported to
  the control plane in the ``dropped`` field of the next batch sent.
- **No double counting.** A batch is retried (5xx, 408, 429, network errors; capped
  exponential backoff with jitter) with the same ``batch_id`` and the same bytes, and the
  control plane stores each id once. Other 4xx answers drop the batch (logged, counted).
- **Flushes on close.** :meth:`close` closes the open window too and sends everything
  within ``close_timeout`` seconds; a started reporter is also closed at interpreter exit.
- **Fork-safe.** A forked child starts with an empty queue and zero counters, a new
  instance name, and restarts its threads if the parent's reporter was started.

Every batch also says who sent it (``sdk``: rollwise's version, host, pid, release, when
the reporter started, and the configuration revision the client evaluates when the batch is
sent), for the control plane's fleet view.

Attribution: request series carry their own window; usage and comparison counts drained by
a tick belong to the window that tick closed (on close or flush: the open window).

Usage::

    import rollwise

    options = rollwise.ClientOptions(
        reporting=rollwise.ReporterOptions("https://rollwise.internal", token=SDK_TOKEN)
    )
    with rollwise.Client(source, options=options) as client:  # starts the reporter too
        ...

    # or on its own, for a client or just a recorder:
    reporter = rollwise.Reporter(rollwise.ReporterOptions(url, token), client=client)
    reporter.start()
    ...
    reporter.close()
"""

from __future__ import annotations

from ._options import ComparisonSource, OverrideSource, ReporterHealth, ReporterOptions
from ._reporter import Reporter
from ._usage import UsageCounter

__all__ = [
    "ComparisonSource",
    "OverrideSource",
    "Reporter",
    "ReporterHealth",
    "ReporterOptions",
    "UsageCounter",
]
