"""Text rendering of ``completion show`` (the script itself) and ``completion install``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.completion.install import CompletionScript, InstalledScript

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams


def _render_script(result: CompletionScript, streams: Streams) -> None:
    streams.out.write(result.script)


def _render_installed(result: InstalledScript, streams: Streams) -> None:
    streams.out.write(f"wrote {result.path}\n")
    if result.rc_lines:
        streams.out.write(f"add to {result.rc_file} (the fpath line before compinit):\n")
        streams.out.writelines(f"  {line}\n" for line in result.rc_lines)
    else:
        streams.out.write(f"open a new {result.shell} shell to use it\n")


RENDERERS: Renderers = {
    CompletionScript: _render_script,
    InstalledScript: _render_installed,
}
