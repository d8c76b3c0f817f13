"""Lay out one Kubernetes version's JSON Schemas the way kubeconform reads local ones.

The schemas come from the ``kubernetes-validate`` wheel on PyPI (its folder
``kubernetes-json-schema/vX.Y.Z-local-strict``: one file per kind, generated from the
Kubernetes OpenAPI document, and ``_definitions.json``). Its files name themselves with
``$id`` URLs and point at ``/api/_definitions.json``, which its own loader maps; kubeconform
resolves references as files next to the schema, so each ``$id`` is dropped and each
reference made relative. Standard library only: run with any Python 3.

    python3 deploy/ci/k8s_schemas.py WHEEL VERSION OUT   # OUT/vX.Y.Z-standalone-strict/*.json
"""

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

ABSOLUTE = "/api/_definitions.json#"


def relative(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: value.replace(ABSOLUTE, "_definitions.json#", 1)
            if key == "$ref" and isinstance(value, str)
            else relative(value)
            for key, value in node.items()
            if key != "$id"
        }
    if isinstance(node, list):
        return [relative(item) for item in node]
    return node


def main(wheel: str, version: str, out: str) -> None:
    folder = f"kubernetes_validate/kubernetes-json-schema/{version}-local-strict/"
    target = Path(out) / f"{version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(folder) and name.endswith(".json"):
                schema = relative(json.loads(archive.read(name)))
                (target / name.removeprefix(folder)).write_text(json.dumps(schema))
                count += 1
    if count == 0:
        sys.exit(f"k8s_schemas: no {folder} in {wheel}")
    print(f"k8s_schemas: {count} schemas in {target}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
