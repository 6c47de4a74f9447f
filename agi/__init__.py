"""FastAGI side for classic dialplans (filled by a later issue)."""
