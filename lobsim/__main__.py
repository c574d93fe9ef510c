from lobsim.cli import entry

entry()
