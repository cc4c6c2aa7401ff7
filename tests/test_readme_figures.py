"""Every figure the READMEs (the project's and benchmarks/README.md) quote from a results file matches that file.

A quoted figure is followed by a marker invisible on the rendered page:

    median **4.3 s**<!--fig cold_start.json summary.first_predict_s.median .1f-->

naming the file under benchmarks/results (JSON, or CSV: a list of rows), the value's path in it (dots between keys; ``[key=value,...]`` picks
the first row of a list that matches) and its format (a Python format spec, ``*100`` to scale first). The last
few characters before the marker must contain the value so formatted: a rerun benchmark whose figures changed fails
here until the README says what the file says.
"""
import csv
import json
import re

import pytest

from tests.helpers import ROOT

RESULTS = ROOT / "benchmarks" / "results"
MARKER = re.compile(r"<!--fig (\S+) (\S+) (\S+)-->")


def value_at(data, path: str):
    """The value at ``path`` in parsed JSON ``data``."""
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", path):
        if part.startswith("["):
            wanted = dict(pair.split("=", 1) for pair in part[1:-1].split(","))
            data = next(row for row in data if all(str(row.get(k)).lower() == v.lower() for k, v in wanted.items()))
        elif isinstance(data, list):
            data = data[int(part)]
        else:
            data = data[part]
    return data


def results(file: str):
    """A results file: JSON as parsed, CSV as a list of rows (numbers as numbers)."""
    path = RESULTS / file
    if path.suffix != ".csv":
        return json.loads(path.read_text())

    def number(text: str):
        try:
            return float(text)
        except ValueError:
            return text

    with open(path, newline="") as handle:
        return [{key: number(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def formatted(value, spec: str) -> str:
    spec, _, scale = spec.partition("*")
    return format(value * float(scale) if scale else value, spec)


QUOTING = [ROOT / "README.md", ROOT / "benchmarks" / "README.md"]


def quoted_figures() -> list[tuple[str, str, str, str]]:
    """(text before the marker, file, path, format) for every marker in the READMEs."""
    figures = []
    for readme in QUOTING:
        text = readme.read_text()
        figures += [(text[max(0, m.start() - 40):m.start()], *m.groups()) for m in MARKER.finditer(text)]
    return figures


def test_the_readmes_quote_figures_with_their_source():
    assert len(quoted_figures()) >= 20
    assert all(MARKER.search(readme.read_text()) for readme in QUOTING)


@pytest.mark.parametrize("before, file, path, spec", quoted_figures(), ids=lambda v: str(v)[-40:])
def test_a_quoted_figure_matches_its_results_file(before, file, path, spec):
    expected = formatted(value_at(results(file), path), spec)
    assert expected in before[-(len(expected) + 8):], f"README says {before.strip()!r}, {file} says {expected}"


def test_markers_are_read_as_written():
    data = {"a": {"b": [{"kind": "wall", "crop": True, "top1": 0.6905}]}}
    assert formatted(value_at(data, "a.b[kind=wall,crop=true].top1"), ".1%") == "69.0%"
    assert formatted(-0.0536, "+.1f*100") == "-5.4"


@pytest.mark.parametrize("file", sorted(p.name for p in RESULTS.glob("*.json")))
def test_every_results_file_says_where_its_figures_come_from(file):
    data = json.loads((RESULTS / file).read_text())
    assert {"commit", "model_sha256", "cores", "runs"} <= set(data)
    assert len(data["commit"].split("+")[0]) == 40 and data["cores"] >= 1 and data["runs"] >= 1
