"""The Stasis application: answers 115 and the switchboard numbers over ARI."""
