"""Reading ``{"columns","values"}`` results back in for ``case tag --from-json``."""

from __future__ import annotations

import json

import pytest

from casefile.ingest import parse_results
from collectors.result import Column, HuntbenchError, QueryResult


def test_reads_what_query_result_to_json_writes():
    result = QueryResult([Column("file.name", "keyword"), Column("cc", "long")], [["a", 1], ["b", 2]], took=3)
    parsed = parse_results(json.dumps(result.to_json()).encode(), "stdin")
    assert [r.rows for r in parsed.results] == [result.rows_as_dicts()]


def test_list_ndjson_bom_and_query_numbers():
    one = {"query": 0, "columns": [{"name": "a"}], "values": [[1]]}
    two = {"query": "pivot:agents_for_file", "columns": ["b"], "values": [[2], [3]]}
    data = b"\xef\xbb\xbf" + json.dumps([one]).encode() + b"\n" + json.dumps(two).encode()
    parsed = parse_results(data, "f.json")
    assert [(r.query, r.rows) for r in parsed.results] == [(0, [{"a": 1}]), ("pivot:agents_for_file", [{"b": 2}, {"b": 3}])]


def test_a_bad_result_in_a_list_is_named_by_position():
    good = {"columns": [{"name": "a"}], "values": [[1]]}
    bad = {"columns": [{"name": "a"}], "values": [[1], [1, 2]]}
    with pytest.raises(HuntbenchError, match=r"^f.json: result 1, row 1: 2 values for 1 columns$"):
        parse_results(json.dumps([good, bad]).encode(), "f.json")


def test_invalid_utf8_is_kept_as_surrogate_escapes_and_counted():
    parsed = parse_results(b'{"columns":["p"],"values":[["a\xffb"]]}', "stdin")
    assert parsed.invalid_utf8_bytes == 1
    assert parsed.results[0].rows == [{"p": "a\udcffb"}]
