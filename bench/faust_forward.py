"""The baseline from Faust's documentation: an agent that forwards every event it gets."""

import os

import faust
from faust.types import StreamT

app = faust.App(
    os.environ["BENCH_APP_ID"],
    broker=f"kafka://{os.environ['HUB_KAFKA_BOOTSTRAP']}",
    store="memory://",
    web_port=int(os.environ["BENCH_WEB_PORT"]),
    web_host="127.0.0.1",
    web_bind="127.0.0.1",
)
source = app.topic(os.environ["BENCH_IN"], value_type=bytes, value_serializer="raw")
sink = app.topic(os.environ["BENCH_OUT"], value_type=bytes, value_serializer="raw")


@app.agent(source)
async def forward(stream: StreamT[bytes]) -> None:
    async for value in stream:
        await sink.send(value=value)
