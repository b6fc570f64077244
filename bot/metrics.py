"""Process metrics in Prometheus format: one registry, every family defined here.

Counters and histograms are updated where the work happens; gauges that describe Redis state
(lag, dead letters) are read at scrape time by collectors the roles register, so a scrape shows
the truth even when the loop that would update a gauge has stopped.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for the route)

REGISTRY = CollectorRegistry(auto_describe=True)

CALLBACKS = Counter("qunbot_callbacks_total", "WeCom callbacks by channel and HTTP status",
                    ["channel", "status"], registry=REGISTRY)
HANDLED = Counter("qunbot_handled_total", "Inbound messages handled, by the feature that answered",
                  ["feature"], registry=REGISTRY)
HANDLER_SECONDS = Histogram("qunbot_handler_seconds", "Time to handle one message, by feature", ["feature"],
                            buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10),
                            registry=REGISTRY)
WECOM_CALLS = Counter("qunbot_wecom_calls_total", "WeCom API calls by path and errcode (-1 network/5xx)",
                      ["api", "errcode"], registry=REGISTRY)
SENDS = Counter("qunbot_sends_total", "Outbox entries by channel and outcome (sent, retried, dead)",
                ["channel", "outcome"], registry=REGISTRY)
LOOP_ERRORS = Counter("qunbot_loop_errors_total", "Errors a long-running loop survived, by loop",
                      ["loop"], registry=REGISTRY)
STREAM_LOST = Counter("qunbot_stream_lost_total", "Pending entries found deleted or trimmed before they were "
                      "handled (never done by qunbot's own trim)", ["stream"], registry=REGISTRY)
PARTITIONS_HELD = Gauge("qunbot_partitions_held", "Stream partitions this process holds a lease on",
                        ["stream"], registry=REGISTRY)
STREAM_LAG = Gauge("qunbot_stream_lag", "Entries not yet acked (unread + pending), per stream and partition",
                   ["stream", "partition"], registry=REGISTRY)
DEAD_LETTERS = Gauge("qunbot_dead_letters", "Entries in a stream's dead-letter list", ["stream"],
                     registry=REGISTRY)
OUTBOX_WAITING = Gauge("qunbot_outbox_waiting", "Recipients whose messages wait for a retry (WeCom failing, "
                       "rate limits, used-up budgets)", registry=REGISTRY)
ARCHIVE_ITEMS = Counter("qunbot_archive_items_total", "Chat-archive items pulled, by outcome (inbox: a store "
                        "group's text; dropped: anything else; poison: skipped after crashing the SDK)",
                        ["outcome"], registry=REGISTRY)
ARCHIVE_ERRORS = Counter("qunbot_archive_errors_total", "Chat-archive pulls that failed, by SDK errcode or kind",
                         ["error"], registry=REGISTRY)
ARCHIVE_SDK_RESTARTS = Counter("qunbot_archive_sdk_restarts_total", "SDK child processes that died and were "
                               "restarted", registry=REGISTRY)
ARCHIVE_CONSENT = Gauge("qunbot_archive_consent_coverage", "Share of a store group's external members who agreed "
                        "to the chat archive (msgaudit/check_room_agree)", ["store", "group"], registry=REGISTRY)

# Called before each scrape to refresh the Redis-state gauges (lag, dead letters); async because
# they read Redis. Roles append to it at start-up.
REFRESHERS: list[Callable[[], Awaitable[None]]] = []


async def scrape() -> bytes:
    for refresh in list(REFRESHERS):
        try:
            await refresh()
        except Exception:  # a scrape during a Redis outage still reports the counters
            LOOP_ERRORS.labels("metrics_refresh").inc()
    return generate_latest(REGISTRY)
