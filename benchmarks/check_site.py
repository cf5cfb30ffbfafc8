"""Check a built documentation site in a real headless browser (Debian ``chromium``).

Run by hand after ``mkdocs build``::

    mkdocs build --strict --site-dir /tmp/site
    python benchmarks/check_site.py /tmp/site

It builds nothing. It serves the folder on 127.0.0.1, opens every HTML page in headless
Chromium through the DevTools protocol and reports, page by page:

* console errors and uncaught JavaScript exceptions;
* resources that failed to load (404s and the like, as the browser logs them);
* images that did not render (``naturalWidth == 0`` after the load event);
* maths that did not render: reStructuredText left in the text (``:math:``, ``.. math::``,
  ``:func:`` and other roles), formulas that KaTeX did not typeset and KaTeX parse errors;
* broken links: internal links to a page or file that is not in the site, or to an anchor
  (``#id``) that the target page does not have (checked on the HTML, for every link).

Exit status 0 when nothing is wrong, 1 otherwise. Only the standard library is used (a minimal
WebSocket client speaks to the browser).
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

PAGE_TIMEOUT = 30.0

# --------------------------------------------------------------------------------------------
# Static link check
# --------------------------------------------------------------------------------------------


class _LinksAndIds(HTMLParser):
    """Collect the ids of a page and the targets of its links and images."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key):
                self.ids.add(str(values[key]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag in ("img", "script") and values.get("src"):
            self.links.append(str(values["src"]))
        if tag == "link" and values.get("href") and values.get("rel") != "canonical":
            self.links.append(str(values["href"]))


def _parse(path: Path) -> _LinksAndIds:
    parser = _LinksAndIds()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _target_file(site: Path, page: Path, url_path: str) -> Path:
    """The file a relative or root-relative URL path points to (directory → index.html)."""
    base = site if url_path.startswith("/") else page.parent
    target = (base / urllib.parse.unquote(url_path.lstrip("/"))).resolve()
    return target / "index.html" if target.is_dir() or url_path.endswith("/") else target


def broken_links(site: Path) -> dict[str, list[str]]:
    """Internal links, images and anchors of every page that do not resolve."""
    pages = sorted(site.rglob("*.html"))
    parsed = {p.resolve(): _parse(p) for p in pages}
    problems: dict[str, list[str]] = {}
    for page in pages:
        info = parsed[page.resolve()]
        for link in info.links:
            split = urllib.parse.urlsplit(link)
            if split.scheme or split.netloc or link.startswith(("mailto:", "javascript:")):
                continue  # external: not checked (no network here)
            target = page.resolve() if not split.path else _target_file(site, page, split.path)
            if not target.exists():
                problems.setdefault(str(page.relative_to(site)), []).append(f"missing: {link}")
                continue
            if split.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if urllib.parse.unquote(split.fragment) not in ids:
                    problems.setdefault(str(page.relative_to(site)), []).append(
                        f"no anchor: {link}")
    return problems


# --------------------------------------------------------------------------------------------
# A minimal WebSocket client (RFC 6455) for the DevTools protocol
# --------------------------------------------------------------------------------------------


class _WebSocket:
    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("browser closed the connection during the handshake")
            response += chunk
        if b" 101 " not in response.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {response[:80]!r}")
        self.buffer = response.split(b"\r\n\r\n", 1)[1]

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("browser closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("browser closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping / pong: not used by the DevTools server
                continue
            message += payload
            if first & 0x80:
                return message.decode("utf-8", errors="replace")

    def close(self) -> None:
        self.sock.close()


class _DevTools:
    """One browser tab driven through the DevTools protocol."""

    def __init__(self, ws_url: str) -> None:
        self.ws = _WebSocket(ws_url, timeout=PAGE_TIMEOUT)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        wanted = self.next_id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == event for e in self.events):
            return True
        while time.monotonic() < deadline:
            message = json.loads(self.ws.receive())
            self.events.append(message)
            if message.get("method") == event:
                return True
        return False


# --------------------------------------------------------------------------------------------
# Browser check
# --------------------------------------------------------------------------------------------

_BROKEN_IMAGES_JS = (
    "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
    ".map(i => i.getAttribute('src'))"
)

# raw reST in the page text, maths that KaTeX left alone, and KaTeX parse errors
_UNRENDERED_MATH_JS = r"""(() => {
  const text = document.body.innerText;
  const roles = (text.match(/:(math|func|class|mod|meth|attr|data):`/g) || []).length;
  const blocks = (text.match(/\.\. math::/g) || []).length;
  const plain = Array.from(document.querySelectorAll('.arithmatex'))
    .filter(el => !el.querySelector('.katex')).map(el => el.textContent.slice(0, 60));
  const errors = Array.from(document.querySelectorAll('.katex-error'))
    .map(el => el.getAttribute('title') || el.textContent.slice(0, 60));
  return {roles, blocks, plain, errors};
})()"""


def _serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def _start_browser(binary: str, profile: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text().splitlines()[0])
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("headless chromium did not start within 60 s")


def browser_problems(site: Path, binary: str) -> tuple[dict[str, list[str]], int]:
    """Load every page; return problems by page and the number of pages loaded."""
    pages = sorted(p.relative_to(site) for p in site.rglob("*.html") if p.name != "404.html")
    server, http_port = _serve(site)
    problems: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as profile:
        proc, devtools_port = _start_browser(binary, Path(profile))
        try:
            for page in pages:
                url = f"http://127.0.0.1:{http_port}/{page.as_posix()}"
                request = urllib.request.Request(
                    f"http://127.0.0.1:{devtools_port}/json/new?about:blank", method="PUT")
                with urllib.request.urlopen(request, timeout=PAGE_TIMEOUT) as response:
                    target = json.load(response)
                tab = _DevTools(target["webSocketDebuggerUrl"])
                found: list[str] = []
                try:
                    for domain in ("Page", "Runtime", "Log"):
                        tab.call(f"{domain}.enable")
                    tab.call("Page.navigate", url=url)
                    if not tab.wait_for("Page.loadEventFired", PAGE_TIMEOUT):
                        found.append("page did not finish loading")
                    time.sleep(0.3)  # let late scripts report
                    broken = tab.call("Runtime.evaluate", expression=_BROKEN_IMAGES_JS,
                                      returnByValue=True)["result"].get("value", [])
                    found += [f"image not shown: {src}" for src in broken]
                    maths = tab.call("Runtime.evaluate", expression=_UNRENDERED_MATH_JS,
                                     returnByValue=True)["result"].get("value", {})
                    found += _math_problems(maths)
                    found += _console_errors(tab.events)
                finally:
                    tab.ws.close()
                    urllib.request.urlopen(
                        f"http://127.0.0.1:{devtools_port}/json/close/{target['id']}",
                        timeout=PAGE_TIMEOUT).close()
                if found:
                    problems[page.as_posix()] = found
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            server.shutdown()
    return problems, len(pages)


def _math_problems(maths: dict[str, Any]) -> list[str]:
    out = []
    if maths.get("roles"):
        out.append(f"{maths['roles']} raw reStructuredText roles (:math:`...` and the like)")
    if maths.get("blocks"):
        out.append(f"{maths['blocks']} raw '.. math::' blocks")
    out += [f"formula not typeset: {t!r}" for t in maths.get("plain", [])]
    out += [f"KaTeX error: {t}" for t in maths.get("errors", [])]
    return out


def _console_errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            out.append(f"console error: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            out.append(f"uncaught exception: {text}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            out.append(f"browser error: {entry.get('text')} {entry.get('url', '')}".rstrip())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="folder of a built mkdocs site")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium",
                        help="browser binary (default: chromium on the PATH)")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").exists():
        print(f"{site} has no index.html: build the site first (mkdocs build).", file=sys.stderr)
        return 2
    links = broken_links(site)
    loaded, n_pages = browser_problems(site, args.chromium)
    pages = sorted(set(links) | set(loaded))
    for page in pages:
        print(page)
        for line in links.get(page, []) + loaded.get(page, []):
            print(f"  {line}")
    n_problems = sum(len(v) for v in links.values()) + sum(len(v) for v in loaded.values())
    print(f"{n_pages} pages loaded in headless chromium; {n_problems} problems on "
          f"{len(pages)} pages.")
    return 1 if n_problems else 0


if __name__ == "__main__":
    sys.exit(main())
