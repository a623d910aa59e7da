"""The JSON Schemas of every command's ``--format json`` output (docs/reference/json-output.md)."""
