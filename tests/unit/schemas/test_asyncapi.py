"""schemas/asyncapi.yaml: up to date with the models, complete, and valid to the real AsyncAPI parser.

The parser is the npm registry's @asyncapi/parser, pinned by deploy/ci/asyncapi and
installed by ``deploy/ci/install-asyncapi-parser.sh`` (``make asyncapi-tools``, run by
``make test`` before pytest; the fixture runs it too, a no-op when installed). A missing
Node.js or parser fails the test, never skips it.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub import dead_letter
from hub.sink import with_content_type
from schemas import topics
from schemas.asyncapi import channel_id, document, rendered
from schemas.export import ASYNCAPI_FILE, OUTPUT_DIR

ROOT = Path(__file__).resolve().parents[3]
INSTALL = ROOT / "deploy" / "ci" / "install-asyncapi-parser.sh"
VALIDATE = ROOT / "deploy" / "ci" / "validate-asyncapi.cjs"

INBOUND = {"interactions.teller", "interactions.phone", "interactions.web", "interactions.branch"}
INBOUND |= {topics.CUSTOMERS_PROFILE, topics.TRIGGERS_OUTCOMES}
OUTBOUND = {topics.TRIGGERS_CROSS_SELL, topics.TRIGGERS_CARE, topics.INTERACTIONS_DLQ}
INTERNAL = {topics.INTERACTIONS_ACCEPTED, topics.INTERACTIONS_UNRESOLVED}


def test_the_checked_in_document_matches_the_models() -> None:
    assert ASYNCAPI_FILE.read_text() == rendered(), "stale schemas/asyncapi.yaml: run `make schemas`"


def test_every_topic_is_a_channel_and_the_hub_receives_and_sends_as_the_contract_says() -> None:
    doc = document()
    declared = {value for name, value in vars(topics).items() if name.isupper() and isinstance(value, str)}
    assert declared == INBOUND | OUTBOUND | INTERNAL
    assert {c["address"] for c in doc["channels"].values()} == declared
    actions = {
        (op["action"], doc["channels"][op["channel"]["$ref"].split("/")[-1]]["address"])
        for op in doc["operations"].values()
    }
    expected = {("receive", t) for t in INBOUND | INTERNAL} | {("send", t) for t in OUTBOUND | INTERNAL}
    assert actions == expected


def message_of(doc: dict[str, Any], topic: str) -> dict[str, Any]:
    [ref] = doc["channels"][channel_id(topic)]["messages"].values()
    message: dict[str, Any] = doc["components"]["messages"][ref["$ref"].split("/")[-1]]
    return message


def test_dead_letters_and_triggers_carry_the_headers_the_hub_sends() -> None:
    doc = document()
    record = dead_letter.SourceRecord("interactions.web", 2, 41, b"k", b"{}")
    sent = with_content_type(record.position_headers())
    dead = message_of(doc, topics.INTERACTIONS_DLQ)["headers"]
    assert set(dead["properties"]) == set(sent) == set(dead["required"])
    assert dead["properties"]["content-type"]["const"] == sent["content-type"].decode()
    for topic in (topics.TRIGGERS_CARE, topics.TRIGGERS_CROSS_SELL):
        assert set(message_of(doc, topic)["headers"]["properties"]) == set(with_content_type(None))
    for topic in INBOUND | OUTBOUND | INTERNAL:
        message = message_of(doc, topic)
        assert message["contentType"] == "application/json"
        assert message["bindings"]["kafka"]["key"]["type"] == "string"


def test_payloads_are_the_published_json_schemas() -> None:
    schemas = document()["components"]["schemas"]
    for name, file in (("Trigger", "trigger.v2"), ("RejectedRecord", "rejected_record.v1")):
        published = (
            (OUTPUT_DIR / f"{file}.schema.json").read_text().replace("#/$defs/", "#/components/schemas/")
        )
        as_json = json.loads(published)
        for definition, schema in as_json.pop("$defs", {}).items():
            assert schemas[definition] == schema
        assert schemas[name] == as_json
    assert schemas["Trigger"]["properties"]["schema_version"]["enum"] == [1, 2]


@pytest.fixture(scope="module")
def parser() -> Path:
    done = subprocess.run([str(INSTALL)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"{INSTALL.name} failed (run `make asyncapi-tools`):\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(VALIDATE), "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(600)
def test_the_asyncapi_parser_accepts_the_document(parser: Path) -> None:
    done = validate(ASYNCAPI_FILE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid AsyncAPI 3.1.0, 11 channels, 13 operations" in done.stdout


def test_the_parser_check_is_real(parser: Path, tmp_path: Path) -> None:
    broken = document()
    broken["operations"]["send_triggers_care"]["action"] = "publish"  # AsyncAPI 2's word
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    done = validate(path)
    assert done.returncode == 1
    assert "error" in done.stdout and "action" in done.stdout, done.stdout
