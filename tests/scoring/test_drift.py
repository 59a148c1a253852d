import math

import pytest

from ftlineage.scoring import drift_bands
from ftlineage.scoring._drift import classify


@pytest.mark.parametrize(
    ("drop", "band"),
    [(0.0, "noise"), (1.0, "noise"), (2.0, "concerning"), (5.0, "concerning"), (5.1, "fail"),
     (-3.0, "improved"), (math.nan, "unscored")],
)
def test_bands(drop, band):
    assert classify(drop, 1.0, 5.0) == band


def test_points_are_hundredths_of_score():
    [b] = drift_bands({"drift/x": 0.80}, {"drift/x": 0.77}, noise=1, fail=5)
    assert b.drop_points == pytest.approx(3.0)
    assert b.band == "concerning"
