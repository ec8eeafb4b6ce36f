"""The shared window buffer, normalization and input parsing."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.errors import UserError
from runtime.sources import read_samples
from runtime.windows import Normalization, WindowBuffer, make_windows


@pytest.mark.parametrize("channels", [1, 3])
def test_window_buffer_yields_the_same_windows_as_make_windows(channels):
    rng = np.random.default_rng(0)
    series = rng.normal(size=(137, channels)).astype(np.float32)
    buf = WindowBuffer(10, channels)
    seen = []
    for sample in series:
        buf.push(sample)
        if buf.full:
            seen.append(buf.view().copy())
    for c in range(channels):
        x, _ = make_windows(series[:, c], 10)
        np.testing.assert_array_equal(np.array(seen)[:-1, :, c], x[:, :, 0])
    buf.reset()
    assert not buf.full


def test_window_buffer_memory_is_two_windows():
    buf = WindowBuffer(50)
    for i in range(10_000):
        buf.push(float(i))
    assert buf._buf.nbytes == 2 * 50 * 4
    np.testing.assert_array_equal(buf.view()[:, 0], np.arange(9950, 10_000))


def test_normalization_round_trip_and_range():
    norm = Normalization.fit(np.array([10.0, 20.0, 15.0]))
    assert norm.apply(10.0) == -1 and norm.apply(20.0) == 1
    np.testing.assert_allclose(norm.invert(norm.apply([12.5, 99.0])), [12.5, 99.0])
    assert list(norm.out_of_range([20.0, 20.4, 20.6, 9.0])) == [False, False, True, True]
    assert Normalization.from_dict(norm.to_dict()) == norm
    assert Normalization.fit(np.ones(5)).scale == 1.0


def test_read_samples_reports_bad_lines_and_goes_on():
    lines = ["t,a,b", "0,1.5,2", "1,x,2", "", "2,nan,1", "3,1,2,9", "4,inf,2", "5,2.5,3"]
    got = list(read_samples(lines, ["b", "a"]))
    assert [(s.line, s.values) for s in got if s.values] == [(2, (2.0, 1.5)), (8, (3.0, 2.5))]
    errors = {s.line: s.error for s in got if s.values is None}
    assert errors == {
        3: "not a number: 'x'",
        4: "empty line",
        5: "'nan' is not a finite number",
        6: "expected 3 field(s), found 4",
        7: "'inf' is not a finite number",
    }


def test_read_samples_plain_numbers_and_header_errors():
    assert [s.values for s in read_samples(["1", "2.5", "-3e2"])] == [(1.0,), (2.5,), (-300.0,)]
    with pytest.raises(UserError, match="its columns are: a, b"):
        list(read_samples(["a,b", "1,2"], ["c"]))
    with pytest.raises(UserError, match="several columns \\(a, b\\): name the one to read"):
        list(read_samples(["a,b", "1,2"]))
