"""The sheet scans take time in proportion to the sheet, whatever a hostile file repeats.

A few kilobytes of repeated formula or unclosed tags used to make the scans search the rest of
each 1 MB piece once per tag: minutes of CPU for one upload. Each case here took 4 to 13 s
at 20,000 repetitions before, and takes milliseconds now; the bound is loose so that a busy
machine does not fail it.
"""

import contextlib
import time

import pytest

from licensing.importing.errors import UnreadableFile
from licensing.importing.readers import read_spreadsheet
from tests.licensing.test_import_readers import raw_xlsx

N = 60_000
IRREGULAR = '<row r="1"><c r="a1"><v>1</v></c></row>'  # a lower-case reference: the exact scan


@pytest.mark.parametrize(
    "xml",
    [
        '<row r="1"><c r="A1">' + "<f>1</f>" * N + "<v>1</v></c></row>",
        '<row r="1"><c r="a1"><v>1</v></c><c r="A2">' + "<f>1</f>" * N + "<v>1</v></c></row>",
        '<row r="1"><c r="A1"><v>1</v></c></row>' + "<f " * N,
        IRREGULAR + "<f " * N,
        '<row r="1"><c r="A1"><v>1</v></c></row>' + "<c " * N,
        IRREGULAR + "<c " * N,
        '<row r="1"><c r="A1">' + "<f " * N + "><v>1</v></c></row>",
    ],
    ids=[
        "formulas in one cell",
        "formulas in one cell, exact scan",
        "unclosed formula tags",
        "unclosed formula tags, exact scan",
        "unclosed cell tags",
        "unclosed cell tags, exact scan",
        "formula tags in a formula tag",
    ],
)
def test_repeated_tags_are_scanned_in_linear_time(xml):
    data = raw_xlsx(xml)
    started = time.perf_counter()
    with contextlib.suppress(UnreadableFile):  # refused or read: either way, quickly
        read_spreadsheet(data)
    assert time.perf_counter() - started < 5
