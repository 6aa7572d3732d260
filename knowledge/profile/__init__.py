"""The company profile: the company, its locations and leave rules, read from one validated TOML file."""
