"""Write the JSON Schema of every contract shape to ``schemas/json``, and the AsyncAPI
document of every topic to ``schemas/asyncapi.yaml`` (``make schemas``).

The files are checked in for channel and marketing teams; a unit test fails when they
no longer match the models.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from schemas import asyncapi
from schemas.interaction import INTERACTION_ADAPTER
from schemas.profile import CustomerProfile
from schemas.rejected import RejectedRecord
from schemas.trigger import Trigger, TriggerOutcome

OUTPUT_DIR = Path(__file__).parent / "json"
ASYNCAPI_FILE = Path(__file__).parent / "asyncapi.yaml"

SHAPES: dict[str, TypeAdapter[Any]] = {
    "interaction.v2": INTERACTION_ADAPTER,  # accepts version 1 too
    "customer_profile.v3": TypeAdapter(CustomerProfile),  # accepts versions 1 and 2 too
    "trigger.v2": TypeAdapter(Trigger),  # version 1 triggers validate too
    "trigger_outcome.v1": TypeAdapter(TriggerOutcome),
    "rejected_record.v1": TypeAdapter(RejectedRecord),
}


def rendered() -> dict[str, str]:
    """File name -> file text, exactly as checked in."""
    return {
        f"{name}.schema.json": json.dumps(adapter.json_schema(mode="validation"), indent=2, sort_keys=True)
        + "\n"
        for name, adapter in SHAPES.items()
    }


def main() -> None:
    OUTPUT_DIR.mkdir(exist_ok=True)
    for file_name, text in rendered().items():
        (OUTPUT_DIR / file_name).write_text(text)
        print(f"wrote {OUTPUT_DIR / file_name}")
    ASYNCAPI_FILE.write_text(asyncapi.rendered())
    print(f"wrote {ASYNCAPI_FILE}")


if __name__ == "__main__":
    main()
