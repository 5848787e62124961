"""Per-asset performance: forecast accuracy, market value and capture rate, imbalance cost per MWh, margin."""
