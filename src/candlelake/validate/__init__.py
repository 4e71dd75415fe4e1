"""Row validation: pure checks on fetched candles before anything is written."""
