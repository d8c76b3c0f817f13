"""Write the API's OpenAPI document to ``schemas/openapi.json`` (``make schemas``).

Checked in for the teams that build on the API; a unit test fails when it is stale.
"""

import json
from pathlib import Path
from typing import Any

from hub.api.app import create_api
from hub.settings import Settings

OUTPUT = Path(__file__).parents[2] / "schemas" / "openapi.json"


class _NoReads:
    """The document needs the routes, not the data nor the audit."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("exporting the OpenAPI document reads no data")


def rendered() -> str:
    # Defaults, not the environment: the document does not depend on the settings.
    app = create_api(Settings.model_construct(), _NoReads(), _NoReads())
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    OUTPUT.write_text(rendered())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
