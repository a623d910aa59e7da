"""Shell completion answered from a generated table, without loading the full CLI.

Every TAB press runs the program once, so nothing here imports typer, click or rich:
`table` is generated from the Typer app by ``make completions`` and a test keeps it equal
to what Typer itself would answer.
"""
