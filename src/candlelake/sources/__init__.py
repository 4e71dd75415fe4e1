"""Where candles come from: each source takes a symbol's plan and delivers finished days (protocol.py)."""
