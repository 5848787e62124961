"""Infeed marts: live infeed per QH, best-of-infeed per asset and for the portfolio."""
