"""A Faust app that acknowledges records out of order, to watch what it commits.

Run by tests/integration/test_committed_means_handled.py with the hub's own ``create_app``
(and so its commit policy). Each record's value says what to do with it: ``hold`` is
left unacknowledged until a ``release`` comes; anything else is acknowledged at once.
Every acknowledgement is printed, so that the test knows when to look at the commits.

With PROBE_DROP_FIRST set, the first record the consumer fetches never reaches the
stream, as Faust once did after a rebalance (the chaos suite).
"""

import os
from typing import Any

from faust.types import StreamT
from faust.worker import Worker

from hub.kafka_app import create_app, raw_topic
from hub.settings import load_settings

PROBE_TOPIC = "commit-probe"


def _say(line: str) -> None:
    # Straight to the file descriptor: the Faust worker turns print() into log lines. On
    # a line of its own, apart from the terminal codes of the worker's spinner.
    os.write(1, f"\n{line}\n".encode())


def _drop_first_record(app: Any) -> None:
    # The consumer takes the conductor's callback when it is created, at the worker's start.
    deliver = app.topics.on_message
    dropped: list[int] = []

    async def on_message(message: Any) -> None:
        if not dropped:
            dropped.append(message.offset)
            _say(f"dropped {message.offset}")
            return
        await deliver(message)

    app.topics.on_message = on_message


def main() -> None:
    settings = load_settings()
    app = create_app(
        settings, contiguous_topics=(PROBE_TOPIC,), broker_commit_interval=0.2, web_enabled=False
    )
    topic = raw_topic(app, settings.topic(PROBE_TOPIC), partitions=1)
    if os.environ.get("PROBE_DROP_FIRST"):
        _drop_first_record(app)

    @app.agent(topic, name="probe")
    async def probe(stream: StreamT[bytes]) -> None:
        stream.enable_acks = False
        held: list[Any] = []
        async for event in stream.noack().events():
            offset = event.message.offset
            if event.value == b"hold":
                held.append(event)
                _say(f"held {offset}")
                continue
            if event.value == b"release":
                for waiting in held:
                    await stream.ack(waiting)
                    _say(f"acked {waiting.message.offset}")
                held.clear()
            await stream.ack(event)
            _say(f"acked {offset}")

    Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
