"""Request planning: pages, weight budgets and retry policy."""
