"""Parameters of the small landing zone the demo tests generate (see conftest.py)."""

from datetime import date

START = date(2025, 6, 7)
DAYS = 3
ASSETS = 8  # the five sample assets and three synthetic ones
SEED = 7
