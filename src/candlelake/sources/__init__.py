"""Where candles come from: Binance REST through ccxt, and the data.binance.vision archive."""
