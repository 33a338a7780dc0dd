"""The stock assistant: market data sync and LLM-backed analysis."""
