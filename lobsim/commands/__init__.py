"""One module per ``lobsim`` subcommand (see :mod:`lobsim.cli`)."""
