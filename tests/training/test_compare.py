"""`python -m training compare`: a grid of small models, one table and one plot."""

from __future__ import annotations

import pytest

from tests.conftest import run_here

pytestmark = pytest.mark.tensorflow


def test_compare_writes_a_table_and_a_plot(tmp_path):
    args = ["--rows", "300", "--epochs", "1", "--stream-epochs", "0", "--target", "level"]
    res = run_here("training", "compare", "--out", str(tmp_path), *args)
    assert res.returncode == 0, res.stderr
    table = (tmp_path / "compare.md").read_text()
    assert table.count("| lstm |") == 4 and table.count("| gru |") == 4
    assert (tmp_path / "compare.png").stat().st_size > 0
