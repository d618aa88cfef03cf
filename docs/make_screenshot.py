"""Make the README's screenshot from the real app: ``python docs/make_screenshot.py docs/screenshot.svg``.

Opens the workbench on the bundled sample with a throw-away case file, follows the first
planted intrusion's chain (rare file -> agent -> command lines, picked by filter, exactly as
a responder would), tags the command line and saves an SVG of the screen.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path


async def _shoot(out: Path, size: tuple[int, int]) -> None:
    from collectors.sources import sample_source
    from hunts import load_library
    from tui.app import HuntbenchApp
    from tui.launch import local_scan_options

    answer = _chain()
    scan = local_scan_options({"sample": True})  # the Local scan pane on the sample image, as --sample opens it
    with tempfile.TemporaryDirectory() as tmp:
        library = load_library(include_user_dir=False)
        app = HuntbenchApp(source=sample_source(), library=library, hunt=library.default,
                           case_path=Path(tmp) / "huntbench-case.db", osquery_backend=scan["backend"],
                           scan_root=scan["root"], scan_now=scan["now"], scan_label=scan["label"])
        async with app.run_test(size=size) as pilot:
            bench = app.workbench

            async def until(predicate) -> None:
                deadline = time.monotonic() + 60
                while not predicate():
                    if time.monotonic() > deadline:
                        raise SystemExit("error: the workbench did not answer in 60 s")
                    await pilot.pause(0.05)

            async def step(value: str | None) -> None:
                await until(lambda: bench.panes and not any(p.view.loading for p in bench.panes))
                if value is not None:
                    await pilot.press("slash")
                    bench.query_one("#filter").value = value
                    await pilot.pause()
                    await pilot.press("enter")

            await step(answer["file.name"])
            await pilot.press("enter")
            await step(answer["agent.id"])
            await pilot.press("enter")
            await step(answer["process.command_line"])
            await pilot.press("t", "1")  # 1-4 tag at once
            await until(lambda: bench.pane.view.tags)
            await pilot.press("escape")  # clear the filter: all the agent's command lines
            await pilot.pause(6.5)  # let the "tagged" notification fade
            app.case.path = Path("huntbench-case.db")  # the header shows the default name
            bench.draw_header()
            await pilot.pause(0.1)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(app.export_screenshot(title="huntbench"), encoding="utf-8")


def _chain() -> dict:
    """The planted chain from the sample's answer key (the same helper the tests use)."""
    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo))
    from tests.tui_support import planted_chain

    return planted_chain()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("docs/screenshot.svg")
    asyncio.run(_shoot(out, (120, 34)))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
