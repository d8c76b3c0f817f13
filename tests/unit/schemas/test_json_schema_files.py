from schemas.export import OUTPUT_DIR, rendered


def test_checked_in_json_schemas_match_the_models() -> None:
    stale = [
        name
        for name, text in rendered().items()
        if not (OUTPUT_DIR / name).is_file() or (OUTPUT_DIR / name).read_text() != text
    ]
    assert not stale, f"stale JSON Schema files {stale}: run `make schemas` and commit them"
