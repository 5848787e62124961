"""The trading desk's open position per QH while trading is happening (issue 24)."""
