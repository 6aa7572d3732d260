"""The database schema, as ordered migrations. Shipped inside the wheel as the package `knowledge.migrations`
(pyproject.toml maps it here) and read with importlib.resources, so an installed hrbot can migrate."""
