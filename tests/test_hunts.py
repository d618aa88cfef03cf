"""The hunt library: Elastic hunting TOML as real files carry it, flaws and all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from hunts import load_library
from hunts.library import ESQL, OSQUERY, clean_query, query_language
from tests.shared import shared_path

SEED_UUID = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def hunt_toml(uuid: str, name: str, *queries: str, extra: str = "") -> str:
    body = ",\n".join("'''\n" + q + "\n'''" for q in queries)
    return (
        f'[hunt]\nauthor = "Elastic"\ndescription = "d"\nintegration = ["endpoint"]\n'
        f'uuid = "{uuid}"\nname = "{name}"\nlanguage = ["ES|QL"]\nlicense = "Elastic License v2"\n'
        f'mitre = ["T1059"]\nquery = [\n{body}\n]\n{extra}'
    )


def test_seed_hunt_is_bundled_with_its_queries_verbatim():
    library = load_library(include_user_dir=False)
    hunt = library.default
    assert hunt.uuid == SEED_UUID and hunt.bundled
    assert [q.language for q in hunt.queries] == [ESQL, ESQL, OSQUERY]
    seed = shared_path("seeds", "000_199c1e9a8977f29e.txt").read_text()
    for query in hunt.queries:
        # each query stands in the seed exactly as the hunt will run it
        assert query.text in seed
    assert hunt.queries[0].index_patterns == ["logs-endpoint.events.file-*"]
    assert hunt.queries[1].index_patterns == ["logs-endpoint.events.process-*"]
    assert hunt.mitre == ["T1546.016"]


def test_seed_hunt_declares_the_pivot_chain():
    hunt = load_library(include_user_dir=False).default
    first = hunt.pivots_from("query:0")
    assert [p.params for p in first] == [
        {"file_name": "file.name", "process_executable": "process.executable"}
    ]
    then = hunt.pivots_from(f"pivot:{first[0].id}")
    assert [p.params for p in then] == [{"agent_id": "agent.id"}]
    by_command = hunt.pivots_from("query:1")
    assert by_command and hunt.pivots_from(f"pivot:{by_command[0].id}") == then
    for pivot in hunt.pivots:
        for name in pivot.params:
            assert f"?{name}" in pivot.query, "every bound value must travel as a parameter"


@pytest.mark.parametrize(
    "text, language",
    [
        ("from logs-*\n| limit 1", ESQL),
        ("sql\nfrom logs-*", ESQL),
        ("FROM logs-* | LIMIT 1", ESQL),
        ("// rare things\nfrom logs-*", ESQL),
        ("SELECT * FROM file WHERE path = '/'", OSQUERY),
        ("with x as (select 1) select * from x", OSQUERY),
        ("sequence by host.id [process where true]", "EQL"),
        ("process where process.name == \"sh\"", "EQL"),
        ("event.category:process", "unknown"),
    ],
)
def test_query_language_is_told_by_the_first_word(text, language):
    assert query_language(text) == language


def test_clean_query_drops_a_stray_language_line_and_trailing_blanks():
    assert clean_query("sql\nfrom logs-*   \n| limit 5  \n\n") == "from logs-*\n| limit 5"
    assert clean_query("from x // keep me\n") == "from x // keep me"


def test_flawed_folder_lists_every_hunt_and_reports_broken_files(tmp_path: Path):
    write(tmp_path, "linux/a.toml", hunt_toml("u-a", "Stray sql line", "sql\nfrom logs-*   \n| limit 5   "))
    write(tmp_path, "linux/b.toml", hunt_toml("u-b", "Upper case", "FROM logs-* \n// comment\n| LIMIT 5"))
    write(tmp_path, "windows/deep/c.toml", hunt_toml("u-c", "EQL hunt", "sequence by host.id\n [process where true]"))
    write(tmp_path, "d.toml", hunt_toml("u-d", "Mixed", "from logs-*", "SELECT 1 FROM file WHERE path = '/'"))
    write(tmp_path, "broken.toml", "[hunt\nname = ")
    write(tmp_path, "nohunt.toml", "[rule]\nname = 'x'\n")
    write(tmp_path, "noquery.toml", '[hunt]\nuuid = "u-e"\nname = "no query"\n')
    write(tmp_path, "README.md", "not a hunt")

    library = load_library([tmp_path], include_user_dir=False)
    names = {h.name for h in library.hunts}
    assert {"Stray sql line", "Upper case", "EQL hunt", "Mixed"} <= names
    problems = {p.path.name: p.reason for p in library.problems}
    assert set(problems) == {"broken.toml", "nohunt.toml", "noquery.toml"}
    assert "not valid TOML" in problems["broken.toml"]
    assert problems["nohunt.toml"] == "no [hunt] table"
    assert "query" in problems["noquery.toml"]
    eql = library.find("u-c")
    assert [(q.language, q.supported) for q in eql.queries] == [("EQL", False)]
    assert library.find("stray sql line").queries[0].text == "from logs-*\n| limit 5"


def test_hunt_list_json_reports_queries_and_skips_broken_files(tmp_path: Path):
    write(tmp_path, "x.toml", hunt_toml("u-x", "Extra hunt", "from logs-* | limit 1"))
    write(tmp_path, "bad.toml", "not toml = = =")
    result = CliRunner().invoke(cli, ["hunt", "list", "--hunts", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    seed = next(h for h in listed if h["uuid"] == SEED_UUID)
    assert [(q["language"], q["supported"]) for q in seed["queries"]] == [
        (ESQL, True), (ESQL, True), (OSQUERY, True)
    ]
    assert {"uuid", "name", "mitre", "languages", "path"} <= set(seed)
    assert any(h["name"] == "Extra hunt" for h in listed)
    assert "bad.toml" in result.stderr and "warning: skipped" in result.stderr


def test_user_hunts_folder_under_xdg_config_is_listed(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    write(tmp_path / "huntbench" / "hunts", "mine.toml", hunt_toml("u-mine", "My hunt", "from logs-*"))
    library = load_library()
    assert library.find("u-mine").name == "My hunt"


def test_a_hunt_is_found_by_uuid_name_file_name_or_prefix():
    library = load_library(include_user_dir=False)
    for key in (SEED_UUID, "persistence via dpkg/rpm package",
                "persistence_via_rpm_dpkg_installer_packages",
                "persistence_via_rpm_dpkg_installer_packages.toml", "Persistence via DPKG"):
        assert library.find(key).uuid == SEED_UUID, key


def test_hunt_show_by_name_prefix_and_unknown_hunt_is_one_line_error():
    runner = CliRunner()
    shown = runner.invoke(cli, ["hunt", "show", "Persistence via DPKG"])
    assert shown.exit_code == 0
    assert "T1546.016" in shown.stdout and "pivot agents_for_file" in shown.stdout
    from cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["hunt", "show", "no-such-hunt"])
    assert exit_info.value.code == 2


def test_a_different_hunt_reusing_the_seeds_uuid_does_not_shadow_it(tmp_path: Path):
    write(tmp_path, "old.toml", hunt_toml(SEED_UUID, "Old copy", "from logs-*"))
    library = load_library([tmp_path], include_user_dir=False)
    assert library.default.bundled and library.default.name == "Persistence via DPKG/RPM Package"
    assert library.find("Old copy").path.name == "old.toml"
    assert library.problems == []
    assert len(library.notices) == 1 and "Old copy" in library.notices[0].reason
