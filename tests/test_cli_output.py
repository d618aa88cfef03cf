"""What the query commands print: CSV safe to open in a spreadsheet, JSON that survives odd bytes."""

from __future__ import annotations

import csv
import io
import json

from cli.output import format_result, json_text, text_table
from collectors.result import Column, QueryResult


def hostile_result() -> QueryResult:
    return QueryResult(
        columns=[Column("file.name", "keyword"), Column("cc", "long"), Column("delta", "double")],
        values=[
            ["=HYPERLINK(\"http://evil\",\"x\")", 1, -2.5],
            ["+cmd|' /C calc'!A0", 2, 0.5],
            ["-2+3", 3, None],
            ["@SUM(A1)", 4, 1.0],
            ["plain.postinst", -7, -1.0],
            [["=a", "b"], 5, 2.0],
        ],
    )


def test_csv_neutralises_formula_text_but_keeps_numbers():
    rows = list(csv.reader(io.StringIO(format_result(hostile_result(), "csv"))))
    assert rows[0] == ["file.name", "cc", "delta"]
    names = [r[0] for r in rows[1:]]
    assert names[:4] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)"]
    assert names[4] == "plain.postinst"
    assert names[5] == "'=a,b"
    assert [r[1] for r in rows[1:]][4] == "-7" and rows[1][2] == "-2.5"


def test_tsv_is_neutralised_too():
    rows = list(csv.reader(io.StringIO(format_result(hostile_result(), "tsv")), delimiter="\t"))
    assert rows[1][0].startswith("'=HYPERLINK") and rows[3][0] == "'-2+3"


def test_txt_table_shows_control_characters_escaped():
    result = QueryResult([Column("file.name", "keyword")], [["a\x1b]52;c;ZXZpbA==\x07b\u202e"]])
    out = text_table(result)
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b]52;c;ZXZpbA==\\x07b\\u202e" in out


def test_json_with_undecodable_file_names_still_prints_as_utf8():
    name = b"evil\xff.postinst".decode("utf-8", "surrogateescape")
    text = json_text({"values": [[name], ["café"]]})
    text.encode("utf-8")
    assert json.loads(text)["values"][0][0] == name
