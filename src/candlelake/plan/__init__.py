"""What to fetch, decided without I/O: days and their sources (days.py), archive files, pages."""
