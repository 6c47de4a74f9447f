"""HTTP adapters: the agent state API."""
