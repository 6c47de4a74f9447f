"""Running and configuring the Asterisk that stadtruf drives."""
