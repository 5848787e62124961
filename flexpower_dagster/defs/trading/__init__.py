"""Trading marts: private trading result per QH and per day, with the market VWAP."""
