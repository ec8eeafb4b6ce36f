"""The second corpus's sources: each series' file, column and licence named once, in
fleet/corpus.py and shown as they are in docs/fleet.md; a series read as its source holds it."""

from __future__ import annotations

from pathlib import Path

from fleet.corpus import FIRST, sources_table, values_of
from tests.conftest import REPO


def test_the_docs_name_every_corpus_series_source_and_licence() -> None:
    assert sources_table() in (REPO / "docs" / "fleet.md").read_text()


def test_a_series_is_its_stations_numbers_in_file_order(tmp_path: Path) -> None:
    # weather.csv holds three airports; a series is one airport's numbers, NA left out
    rows = ["origin,temp,humid,pressure", "EWR,39.02,59.37,NA", "JFK,39.92,NA,1012.0",
            "EWR,NA,61.6,1012.3", "LGA,40.1,58.0,1011.9", "EWR,37.94,64.43,1012.5"]  # fmt: skip
    source = tmp_path / "rd" / "csv" / FIRST[0].file
    source.parent.mkdir(parents=True)
    source.write_text("\n".join(rows) + "\n")
    assert FIRST[0].name == "weather/nyc_ewr_temp"
    assert values_of(FIRST[0], tmp_path / "rd", tmp_path / "ett") == [39.02, 37.94]
