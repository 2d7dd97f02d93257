"""Open a Snakemake HTML report in headless Chromium, click as a reader would, and save screenshots.

    python tools/report_screenshot.py results/report.html OUT_DIR [--category Tables] [--result 1]

Saves OUT_DIR/front.png (the report as it opens), OUT_DIR/list.png (the category's results, in
the order the report lists them) and OUT_DIR/result.png (the ``--result``-th result of the list
opened with its "view" button: for Tables, the table shown inline). Drives Chromium over the
DevTools protocol (Debian's ``chromium`` package; the ``websockets`` client). Used to check by
eye what issue 17 asks of the report: tables inline, in the paper's order.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

PORT = 9333
# Click the navbar link whose text is exactly the category's name.
CLICK_LINK = ("(txt) => {{ const a = [...document.querySelectorAll('a')].filter(e => e.innerText && "
              "e.innerText.trim() === txt).pop(); if (!a) return false; "
              "a.dispatchEvent(new MouseEvent('click', {{bubbles: true}})); return true; }}")
CLICK_VIEW = ("(i) => {{ const a = document.querySelectorAll('a[iconname=eye]')[i]; if (!a) return false; "
              "a.dispatchEvent(new MouseEvent('click', {{bubbles: true}})); return true; }}")


def page_socket(timeout: float = 30.0) -> str:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/json"))
            return next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")
        except (OSError, StopIteration):
            time.sleep(0.5)
    raise SystemExit(f"chromium: no DevTools page on port {PORT} after {timeout:.0f} s")


async def drive(url: str, out: Path, category: str, result: int, width: int, height: int) -> None:
    async with websockets.connect(page_socket(), max_size=2**28) as ws:
        ids = iter(range(1, 10**6))

        async def call(method: str, **params):
            n = next(ids)
            await ws.send(json.dumps({"id": n, "method": method, "params": params}))
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("id") == n:
                    return msg.get("result", {})

        async def js(expr: str):
            r = await call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
            return r.get("result", {}).get("value")

        async def shot(name: str) -> None:
            await asyncio.sleep(2.0)  # React renders after the click
            data = (await call("Page.captureScreenshot", format="png"))["data"]
            (out / f"{name}.png").write_bytes(base64.b64decode(data))

        await call("Page.enable")
        await call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                   mobile=False)
        await call("Page.navigate", url=url)
        await asyncio.sleep(6.0)  # the report is one large page of inlined data
        await shot("front")
        if not await js(f"({CLICK_LINK.format()})({json.dumps(category)})"):
            raise SystemExit(f"the report has no category {category!r}")
        await shot("list")
        if not await js(f"({CLICK_VIEW.format()})({result - 1})"):
            raise SystemExit(f"category {category!r} has no result number {result}")
        await shot("result")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--category", default="Tables")
    ap.add_argument("--result", type=int, default=1, help="which result of the list to open (1: the first)")
    ap.add_argument("--size", default="1500x1000", help="window WIDTHxHEIGHT in pixels")
    a = ap.parse_args()
    width, height = map(int, a.size.split("x"))
    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                                 f"--remote-debugging-port={PORT}", f"--user-data-dir={profile}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            asyncio.run(drive(a.report.resolve().as_uri(), a.out, a.category, a.result, width, height))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{a.out}/front.png, list.png, result.png")


if __name__ == "__main__":
    main()
