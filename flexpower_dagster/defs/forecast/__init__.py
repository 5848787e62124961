"""Forecast marts: per-asset latest / tradeable forecast and the portfolio forecast."""
