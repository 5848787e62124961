"""Imbalance marts: imbalance volume and cost per asset and for the netted portfolio."""
