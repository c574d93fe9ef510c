"""Built-in execution strategies shipped with lobsim (plug-ins that use lobsim's public names)."""
