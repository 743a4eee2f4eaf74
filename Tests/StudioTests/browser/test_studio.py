"""Cadenza Studio in a real browser: Debian's Chromium, driven headless by Playwright for Python.

Starts `cadenza studio` on a free loopback port, then, as a musician would: loads the page,
writes 8 bars, checks the piano roll has notes, plays and stops, selects bars 3 and 4 and
rewrites them (every other bar keeps its notes), downloads the MIDI and reads it back with
`cadenza inspect`. Also: a request naming another Host is refused, and the page logs no error.

    CADENZA=.build/debug/cadenza python3 Tests/StudioTests/browser/test_studio.py
    STUDIO_SCREENSHOT=docs/images/studio.png ...   # also saves the README's screenshot

Needs `pip install playwright` and Debian's `chromium` (CHROMIUM names another binary);
.ci/run installs both. Playwright's own browser download is not used.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

CADENZA = os.environ.get("CADENZA", ".build/debug/cadenza")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio(port):
    studio = subprocess.Popen(
        [CADENZA, "studio", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        line = studio.stdout.readline()
        if not line and studio.poll() is not None:
            raise SystemExit(f"cadenza studio exited with {studio.returncode}")
        if "open http://" in line:
            return studio
    studio.kill()
    raise SystemExit("cadenza studio did not say its address within 120 s")


def api(port, path, host=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"null")


def notes_outside(take, first_beat, last_beat):
    return sorted(
        (n["pitch"], n["start"], n["end"], n["track"])
        for n in take["notes"]
        if not (first_beat <= n["start"] < last_beat)
    )


def main():
    port = free_port()
    studio = start_studio(port)
    problems = []
    try:
        status, body = api(port, "/api/models", host=f"evil.example:{port}")
        assert status == 403 and "own address" in body["error"], (status, body)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            listings = []
            page.on("request", lambda r: listings.append(r.url.split("/api/takes", 1)[1])
                    if r.method == "GET" and r.url.split("?")[0].endswith("/api/takes") else None)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.querySelector('#model').options.length > 0")
            page.select_option("#model", "pretrained")
            page.fill("#bars", "8")
            page.fill("#seed", "2")
            page.click("#generate")
            page.wait_for_function("window.studio.shownTake() && document.body.dataset.state === 'generating'",
                                   timeout=10_000)
            page.wait_for_function("document.body.dataset.state === 'idle' && window.studio.noteCount() > 0",
                                   timeout=120_000)
            first = page.evaluate("window.studio.shownTake()")
            notes = page.evaluate("window.studio.noteCount()")
            print(f"generated {first}: {notes} notes in the piano roll")
            assert notes > 20, notes

            page.click("#play")
            page.wait_for_function("document.body.dataset.state === 'playing'", timeout=5_000)
            page.wait_for_timeout(500)
            page.click("#stop")
            page.wait_for_function("document.body.dataset.state === 'idle'", timeout=5_000)

            # Bars are 120 px wide after the 44 px keyboard strip (docs/studio-api.md, "Test hooks").
            roll = page.locator("#roll").bounding_box()
            y = roll["y"] + roll["height"] / 2
            page.mouse.click(roll["x"] + 44 + 2 * 120 + 60, y)
            page.keyboard.down("Shift")
            page.mouse.click(roll["x"] + 44 + 3 * 120 + 60, y)
            page.keyboard.up("Shift")
            assert page.evaluate("window.studio.selectedBars()") == [3, 4], page.evaluate(
                "window.studio.selectedBars()")
            page.click("#regenerate")
            page.wait_for_function(f"window.studio.shownTake() && window.studio.shownTake() !== '{first}'",
                                   timeout=10_000)
            page.wait_for_function("document.body.dataset.state === 'idle'", timeout=120_000)
            second = page.evaluate("window.studio.shownTake()")
            _, before = api(port, f"/api/takes/{first}")
            _, after = api(port, f"/api/takes/{second}")
            assert after["status"] == "done", after
            assert after["settings"]["infill"] == {"take": first, "first": 3, "last": 4}, after["settings"]
            assert notes_outside(after, 8, 16) == notes_outside(before, 8, 16), "bars outside 3-4 changed"
            print(f"rewrote bars 3-4 as {second}: {len(after['notes'])} notes, every other bar kept")

            with page.expect_download() as download:
                page.click("#download-midi")
            path = os.path.join(tempfile.mkdtemp(), download.value.suggested_filename)
            download.value.save_as(path)
            inspected = subprocess.run([CADENZA, "inspect", path], capture_output=True, text=True)
            assert inspected.returncode == 0 and "notes" in inspected.stdout, inspected
            print(f"downloaded {download.value.suggested_filename}: {inspected.stdout.splitlines()[1].strip()}")

            # The downloaded file comes back as an upload: a take of its own in the list.
            takes_before = page.locator("#takes li[data-take]").count()
            page.set_input_files("#upload", path)
            page.wait_for_function(
                f"document.querySelectorAll('#takes li[data-take]').length > {takes_before}", timeout=10_000)
            _, listed = api(port, "/api/takes")
            uploads = [t for t in listed["takes"] if t["source"] == "upload"]
            assert len(uploads) == 1 and len(uploads[0]["notes"]) == len(after["notes"]), uploads
            print(f"uploaded it back as {uploads[0]['id']}: {len(uploads[0]['notes'])} notes")

            # Bars can be selected from the keyboard too.
            page.focus("#roll")
            page.keyboard.press("Home")
            page.keyboard.press("Shift+ArrowRight")
            page.keyboard.press("Shift+ArrowRight")
            assert page.evaluate("window.studio.selectedBars()") == [1, 2, 3], page.evaluate(
                "window.studio.selectedBars()")
            page.keyboard.press("ArrowRight")
            assert page.evaluate("window.studio.selectedBars()") == [4]
            page.keyboard.press("Escape")
            assert page.evaluate("window.studio.selectedBars()") == []

            # A setting the server refuses reaches the page as a message, not a dead page.
            page.fill("#chords", "H:maj")
            page.click("#generate")
            page.wait_for_selector("#error:not([hidden])", timeout=10_000)
            message = page.inner_text("#error-text")
            assert "H:maj" in message, message
            problems[:] = [p for p in problems if "400" not in p]
            page.click("#error-dismiss")
            page.fill("#chords", "")
            print(f"refused chords shown as: {message}")

            # Event streams refused (as a proxy that cuts them might): the page gives up on them
            # and polls its unfinished takes by name until they are done; after the load it never
            # asks for the whole list again.
            page.route("**/events", lambda route: route.fulfill(status=503, body="no streams here"))
            known = len(page.evaluate("window.studio.takeStatuses()"))
            page.fill("#bars", "8")
            for seed in range(5):
                page.fill("#seed", str(20 + seed))
                page.wait_for_function("!document.querySelector('#generate').disabled", timeout=10_000)
                page.click("#generate")
            page.wait_for_function(
                f"Object.keys(window.studio.takeStatuses()).length === {known + 5} && "
                "Object.values(window.studio.takeStatuses()).every((s) => s === 'done')", timeout=180_000)
            page.unroute("**/events")
            assert listings.count("") == 1, listings
            polls = [query for query in listings if query]
            assert polls and all(query.startswith("?ids=") for query in polls), listings
            problems[:] = [p for p in problems if "503" not in p and "EventSource" not in p]
            print(f"five takes without event streams, all done in the page after {len(polls)} polls by name")

            if os.environ.get("STUDIO_SCREENSHOT"):
                page.screenshot(path=os.environ["STUDIO_SCREENSHOT"])
            browser.close()
        assert not problems, problems
    finally:
        studio.terminate()
        studio.wait(timeout=10)
    print("studio browser test: passed")


if __name__ == "__main__":
    sys.exit(main())
