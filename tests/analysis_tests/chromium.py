"""Headless Chromium over the DevTools protocol (aiohttp's websocket client): open a page, report what a user would see.

`inspect_page(url, screenshot)` returns the console errors and uncaught exceptions the page
produced, the value of a JavaScript expression evaluated once it has loaded, and writes a
full-page PNG screenshot. Debian's `chromium` package provides the browser (`.ci/run` installs
it). Run as a script to take a screenshot of a page: `python chromium.py page.html shot.png`.
"""

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-port=0",
)
# What the page exposes to the test: every image's natural width and the visible text.
PAGE_FACTS = """JSON.stringify({
  images: Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth})),
  text: document.body.innerText
})"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    errors: list[str] = field(default_factory=list)
    value: Any = None


def inspect_page(
    url: str, screenshot: Path, expression: str = PAGE_FACTS, width: int = 1280, timeout: float = 90.0
) -> PageReport:
    """Load `url` in a fresh headless Chromium; errors seen, `expression`'s value (JSON-decoded), screenshot."""
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("Debian's chromium is not installed: apt-get install chromium")
    profile = Path(tempfile.mkdtemp(prefix="adls-chromium-"))
    # Chromium's own output: kept in /tmp only when the page check fails, to read why.
    log_path = profile.parent / f"{profile.name}.log"
    log = open(log_path, "wb")
    succeeded = False
    process = subprocess.Popen(
        [browser, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdout=log, stderr=log
    )
    try:
        port = _devtools_port(profile, process, timeout)
        report = asyncio.run(asyncio.wait_for(_inspect(port, url, screenshot, expression, width), timeout))
        succeeded = True
        return report
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
        if succeeded:
            log_path.unlink(missing_ok=True)


def _devtools_port(profile: Path, process: subprocess.Popen, timeout: float) -> int:
    """Chromium writes the port it chose into `<profile>/DevToolsActivePort` once it listens."""
    deadline = time.monotonic() + timeout
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode} before listening")
        if port_file.is_file():
            lines = port_file.read_text().splitlines()
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


class _Session:
    """Send DevTools commands one at a time; events that arrive meanwhile are kept in order."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self.ids = itertools.count(1)

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        number = next(self.ids)
        await self.socket.send_str(json.dumps({"id": number, "method": method, "params": params or {}}))
        while True:
            message = await self._receive()
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def wait_for(self, method: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            await self._receive()

    async def _receive(self) -> dict[str, Any]:
        message = json.loads((await self.socket.receive()).data)
        if "method" in message:
            self.events.append(message)
        return message


async def _inspect(port: int, url: str, screenshot: Path, expression: str, width: int) -> PageReport:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            session = _Session(socket)
            for domain in ("Runtime", "Log", "Page"):
                await session.send(f"{domain}.enable")
            await session.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            )
            await session.send("Page.navigate", {"url": url})
            await session.wait_for("Page.loadEventFired")
            evaluated = await session.send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}
            )
            shot = await session.send(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
            )
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            report = PageReport(errors=_errors(session.events))
            raw = evaluated.get("result", {}).get("value")
            report.value = json.loads(raw) if isinstance(raw, str) else raw
            return report


def _errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, failed loads and uncaught exceptions, one line each."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(
                "console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append(
                "exception: " + str(details.get("exception", {}).get("description", details.get("text")))
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
    return found


if __name__ == "__main__":
    result = inspect_page(Path(sys.argv[1]).resolve().as_uri(), Path(sys.argv[2]))
    print(json.dumps({"errors": result.errors, "images": result.value["images"]}, indent=1))
