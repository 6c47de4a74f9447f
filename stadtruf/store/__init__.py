"""What stadtruf keeps on disk between runs: callbacks and voicemails, agents' state."""
