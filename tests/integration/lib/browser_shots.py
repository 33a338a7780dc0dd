"""Screenshots of a page at several scroll positions, in headless
Chromium driven through the DevTools protocol on a pipe
(--remote-debugging-pipe: commands on fd 3, answers on fd 4, each a JSON
message ending in a NUL byte). The page is loaded once; for each
OUT.png=Y the window is scrolled to Y pixels and captured.

  browser_shots.py URL WIDTHxHEIGHT OUT.png=Y... [-- CHROMIUM_FLAG...]

Prints, for each screenshot, the scroll position the page reached
("OUT.png 900"): a page shorter than Y stops earlier. The flags after
"--" go to Chromium (the network refused, a profile directory). Gives up
after 100 seconds.
"""
import base64
import json
import os
import select
import subprocess
import sys
import time

DEADLINE = time.monotonic() + 100


class Browser:
    def __init__(self, flags):
        cmd_r, self.cmd_w = os.pipe()
        self.out_r, out_w = os.pipe()

        def child_fds():
            a, b = os.dup(cmd_r), os.dup(out_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [os.environ.get("BROWSER", "chromium"), "--headless", "--remote-debugging-pipe",
             *flags, "about:blank"],
            pass_fds=(3, 4), preexec_fn=child_fds,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sys.stderr)
        os.close(cmd_r)
        os.close(out_w)
        self.next_id, self.buf = 0, b""

    def read(self):
        while b"\0" not in self.buf:
            left = DEADLINE - time.monotonic()
            if left <= 0 or not select.select([self.out_r], [], [], left)[0]:
                raise SystemExit("browser_shots: no answer from the browser in time")
            chunk = os.read(self.out_r, 1 << 20)
            if not chunk:
                raise SystemExit("browser_shots: the browser closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, wait_event=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        result, seen = None, wait_event is None
        while result is None or not seen:
            m = self.read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise SystemExit(f"browser_shots: {method}: {m['error']}")
                result = m["result"]
            elif m.get("method") == wait_event:
                seen = True
        return result

    def close(self):
        try:
            self.send("Browser.close")
        except SystemExit:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    args = sys.argv[1:]
    flags = args[args.index("--") + 1:] if "--" in args else []
    args = args[:args.index("--")] if "--" in args else args
    url, size, shots = args[0], args[1], args[2:]
    width, height = (int(v) for v in size.split("x"))
    browser = Browser(flags)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        browser.send("Page.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1,
                      "mobile": False}, session=session)
        browser.send("Page.navigate", {"url": url}, session=session,
                     wait_event="Page.loadEventFired")
        for shot in shots:
            out, y = shot.rsplit("=", 1)
            reached = browser.send("Runtime.evaluate",
                                   {"expression": f"window.scrollTo(0, {int(y)}); window.scrollY",
                                    "returnByValue": True}, session=session)
            png = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
            with open(out, "wb") as f:
                f.write(base64.b64decode(png["data"]))
            print(out, reached["result"]["value"])
    finally:
        browser.close()


if __name__ == "__main__":
    main()
