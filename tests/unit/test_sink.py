"""Every record the hub produces says it is JSON: both sinks add the content-type header."""

from typing import Any

from hub.hot_path import AiokafkaSink
from hub.sink import FaustProducerSink, with_content_type


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return _acked()


async def _acked() -> str:
    return "ack"


class FakeApp:
    def __init__(self) -> None:
        self.producer = Recording()


def test_with_content_type_keeps_the_other_headers() -> None:
    assert with_content_type(None) == {"content-type": b"application/json"}
    assert with_content_type({"hub-source-offset": b"7"}) == {
        "content-type": b"application/json",
        "hub-source-offset": b"7",
    }


async def test_the_hot_path_sink_sends_the_content_type() -> None:
    producer = Recording()
    ack = await AiokafkaSink(producer).send("triggers.care", b"C1", b"{}", {"hub-source-offset": b"7"})  # type: ignore[arg-type]
    assert await ack == "ack"
    [(_, kwargs)] = producer.calls
    assert kwargs["headers"] == [("content-type", b"application/json"), ("hub-source-offset", b"7")]


async def test_the_faust_sink_sends_the_content_type() -> None:
    app = FakeApp()
    ack = await FaustProducerSink(app).send("interactions.dlq", b"k", b"{}")  # type: ignore[arg-type]
    assert await ack == "ack"
    [(_, kwargs)] = app.producer.calls
    assert kwargs["headers"] == {"content-type": b"application/json"}
