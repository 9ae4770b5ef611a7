"""The manual's generated pages match the code, and the README and the manual link to what exists.

docs/cli.md and docs/zoo.md are written by docs/gen_reference.py from the argparse parsers and
the zoo's table; a new option or row without `make docs-reference` fails here. The site itself
is built with `mkdocs build --strict` by `make test` (broken links, anchors, API references).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("page", ["cli.md", "zoo.md", "snippets/track-settings.md"])
def test_committed_reference_pages_are_what_the_code_says(page):
    gen = _generator()
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == gen.PAGES[page](), f"docs/{page} is stale: run `make docs-reference` and commit it"


def test_stale_page_is_detected_and_named(tmp_path, capsys):
    gen = _generator()
    for name in gen.PAGES:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(gen.PAGES[name](), encoding="utf-8")
    assert gen.stale_pages(tmp_path) == []
    (tmp_path / "cli.md").write_text(gen.cli_page().replace("--kpt-thresh", "--kpt-threshold"), encoding="utf-8")
    (tmp_path / "zoo.md").unlink()
    assert gen.stale_pages(tmp_path) == ["cli.md", "zoo.md"]


def test_track_settings_name_every_field_with_its_default_and_reason():
    import dataclasses

    from simplepose.config import TrackConfig

    table = _generator().track_settings()
    for field in dataclasses.fields(TrackConfig):
        line = next(ln for ln in table.splitlines() if ln.startswith(f"| `track.{field.name}` |"))
        assert f"| `{field.default!r}` |" in line
        assert not line.endswith("|  |"), f"track.{field.name} has no reason in config.py"


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _all_parsers(child)


def test_cli_page_has_every_command_option_and_default():
    from simplepose.cli import COMMANDS, build_parser

    page = _generator().cli_page()
    for name in COMMANDS:
        assert f"## simplepose {name}\n" in page
    checked = 0
    for parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            for option in action.option_strings:
                assert re.search(rf"[` ]{re.escape(option)}[ ,`]", page), (
                    f"{parser.prog} {option} missing from docs/cli.md"
                )
                checked += 1
    assert checked > 50
    # A default that argparse adds to the help (HelpWithDefaults) reaches the page too.
    assert "| `--out DIR` | folder for results.json and the drawn images and videos (default: predictions) |" in page


def test_zoo_page_has_every_row_with_its_digest():
    from simplepose.zoo.table import BUILTIN

    page = _generator().zoo_page()
    for row in BUILTIN:
        line = next((ln for ln in page.splitlines() if ln.startswith(f"| `{row.name}` | {row.dataset} |")), None)
        assert line is not None, f"{row.name} missing from docs/zoo.md"
        digest = row.sha256 or row.member_sha256[:16]
        if digest:
            assert digest in line


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = {next(iter(item.values())) for item in config["nav"]}
    pages = {p.name for p in DOCS.glob("*.md")}
    assert nav == pages
    assert config["theme"]["font"] is False  # no Google Fonts: the pages must work offline


def test_readme_is_short_keeps_the_two_commands_and_links_to_pages_that_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "make demo" in text and "make test" in text
    links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", text)
    assert len(links) >= 14
    for link in links:
        assert (ROOT / link).is_file(), f"README links to {link}, which does not exist"
    picture = ROOT / "docs" / "assets" / "predict_synthetic.jpg"
    assert picture.stat().st_size < 150_000
