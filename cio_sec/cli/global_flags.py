"""Global flags that may also follow the subcommand: ``cio-sec credentials show --no-color``.

Click reads the root's options only before the subcommand's name; people type them at
the end too. Only flags without a value are moved, so no value can be taken for one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.cli.boundary import ErrorBoundaryGroup

if TYPE_CHECKING:
    from typer._click import Context as ClickContext

#: The root's flags that mean the same wherever they are typed.
ANYWHERE = frozenset({"--no-color", "--quiet", "-q"})


def hoist_global_flags(args: list[str]) -> list[str]:
    """Move the flags of `ANYWHERE` to the front; everything after ``--`` stays as it is."""
    end = args.index("--") if "--" in args else len(args)
    flags = [arg for arg in args[:end] if arg in ANYWHERE]
    rest = [arg for arg in args[:end] if arg not in ANYWHERE]
    return [*flags, *rest, *args[end:]]


class RootGroup(ErrorBoundaryGroup):
    """The ``cio-sec`` group: the error boundary, and global flags accepted anywhere."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        """Parse with the global flags brought in front of the subcommand."""
        return super().parse_args(ctx, hoist_global_flags(args))
