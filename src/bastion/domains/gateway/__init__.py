"""The LLM gateway domain."""
