"""Channel traffic at a steady rate that rides out broker outages, and its ledger.

Only records the broker acknowledged are in the ledger: they are what the hub owes. A
send that fails is sent again until acknowledged (a copy that did land anyway is one
more duplicate, which the hub must absorb as well).
"""

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hub.simulate import Record, TrafficGenerator

log = logging.getLogger(__name__)
TICK_S = 0.1
RETRY_S = 0.5
GIVE_UP_S = 120.0
GENERATOR_STEP_S = 3  # hub.simulate spaces events three seconds apart


@dataclass(frozen=True, slots=True)
class Sent:
    topic: str
    partition: int
    offset: int
    event_id: str | None
    sent_at: float
    """Wall-clock seconds (time.time) when the record was first offered."""


class Traffic:
    def __init__(self, bootstrap: str, prefix: str, *, seed: int, customers: int) -> None:
        self._bootstrap = bootstrap
        self._prefix = prefix
        self._start = datetime.now(UTC)
        self._generator = TrafficGenerator(customers, seed=seed, start=self._start)
        self._copies: dict[int, tuple[Record, Record]] = {}
        self._taken = 0
        self.ledger: list[Sent] = []
        self.profiles_sent = 0
        self.send_failures = 0
        self._producer: AIOKafkaProducer

    async def run(self, *, seconds: float, rate: float, stop: asyncio.Event) -> None:
        self._producer = await _started_producer(self._bootstrap)
        try:
            await self._send_all(list(self._generator.profiles()), time.time())
            self.profiles_sent = len(self.ledger)
            self.ledger.clear()
            events = self._generator.events(int(seconds * rate))
            began = time.monotonic()
            offered = 0
            while not stop.is_set():
                due = int((time.monotonic() - began) * rate) - offered
                batch = [self._restamped(record) for record in _take(events, due)]
                if due and not batch:
                    return
                offered += len(batch)
                await self._send_all(batch, time.time())
                await asyncio.sleep(TICK_S)
        finally:
            await self._producer.stop()

    def _restamped(self, record: Record) -> Record:
        """Move the generator's event time (3 s apart) to the time of sending, so that
        latency is the time from sending to recording; a record dated days ahead stays
        that far ahead, and a duplicate stays a byte-for-byte copy."""
        n, self._taken = self._taken, self._taken + 1
        copy = self._copies.get(id(record))
        if copy is not None and copy[0] is record:
            return copy[1]
        try:
            body = json.loads(record.value)
            occurred = datetime.fromisoformat(body["occurred_at"])
        except (ValueError, KeyError, TypeError):
            return record
        shift = datetime.now(UTC) - self._start - timedelta(seconds=GENERATOR_STEP_S * n)
        body["occurred_at"] = (occurred + shift).isoformat()
        restamped = Record(record.topic, record.key, json.dumps(body).encode())
        if len(self._copies) > 1000:
            self._copies.clear()
        self._copies[id(record)] = (record, restamped)
        return restamped

    async def _send_all(self, records: list[Record], offered_at: float) -> None:
        waiting = records
        failing_since: float | None = None
        while waiting:
            producer = self._producer
            futures = []
            for record in waiting:
                try:
                    futures.append(
                        await producer.send(self._prefix + record.topic, record.value, key=record.key)
                    )
                except KafkaError as exc:
                    futures.append(_failed(exc))
            results = await asyncio.gather(*futures, return_exceptions=True)
            retry, errors = [], set()
            for record, result in zip(waiting, results, strict=True):
                if isinstance(result, BaseException):
                    retry.append(record)
                    errors.add(type(result).__name__)
                    continue
                self.ledger.append(
                    Sent(result.topic, result.partition, result.offset, event_id_in(record.value), offered_at)
                )
            if not retry:
                return
            self.send_failures += len(retry)
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > GIVE_UP_S:
                raise RuntimeError(f"the traffic could not send for {GIVE_UP_S:.0f} s: {sorted(errors)}")
            # An idempotent producer can stay wedged after the broker restarted (its
            # sequence numbers refer to a log the broker no longer has): a new one.
            log.warning("resending %d records after %s; with a new producer", len(retry), sorted(errors))
            await producer.stop()
            await asyncio.sleep(RETRY_S)
            self._producer = await _started_producer(self._bootstrap)
            waiting = retry


async def _started_producer(bootstrap: str) -> AIOKafkaProducer:
    for _attempt in range(60):
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=5_000,
            retry_backoff_ms=200,
        )
        try:
            await producer.start()
            return producer
        except KafkaError:
            await producer.stop()
            await asyncio.sleep(1)
    raise RuntimeError("the chaos broker did not accept a producer within 60 s")


async def _failed(exc: Exception) -> None:
    raise exc


def _take(records: Iterator[Record], count: int) -> list[Record]:
    taken = []
    for _ in range(count):
        record = next(records, None)
        if record is None:
            break
        taken.append(record)
    return taken


def event_id_in(value: bytes) -> str | None:
    """The ``event_id`` of a record's JSON body, if it has one."""
    try:
        body = json.loads(value)
    except ValueError:
        return None
    event_id = body.get("event_id") if isinstance(body, dict) else None
    return event_id if isinstance(event_id, str) else None
