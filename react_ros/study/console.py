"""The operator console: a page the experimenter opens in a browser while `study run --console` runs.

It shows the participant's camera (only when the study allows raw media; otherwise their feature bars),
the robot's face, the reaction's attribute bars, the current condition and time left, latency and the
participant's face/audio presence, and has buttons to switch condition, hold neutral, pause, resume and
stop. Served by the standard library's HTTP server from a background thread (no extra dependency):

    GET  /                 the page (polls /api/state ten times a second)
    GET  /api/state        the runner's live values (JSON)
    GET  /api/face.png     the robot's face, rendered from the current reaction
    GET  /api/camera.png   the participant's current camera frame (403 when the study records features only)
    POST /api/control      {"command": "switch NAME" | "neutral" | "pause" | "resume" | "abort"}

Commands go to StudyRunner.command and take effect before the next frame (a switch: at the next frame).
Bound to 127.0.0.1 by default: the page controls a session with a participant, so it is not exposed to
the network unless `host` says so.
"""
from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from react_ros import schema

__all__ = ["OperatorConsole", "PAGE"]


class OperatorConsole:
    def __init__(self, runner, host: str = "127.0.0.1", port: int = 0) -> None:
        self.runner = runner
        self._renderer = None
        self._render_lock = threading.Lock()
        console = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: the console polls ten times a second
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                console._get(self)

            def do_POST(self) -> None:  # noqa: N802
                console._post(self)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> OperatorConsole:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> OperatorConsole:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------ handlers

    def state(self) -> dict:
        runner = self.runner
        return {**runner.live, "names": list(schema.ATTRIBUTE_NAMES),
                "sources": list(runner.switcher.sources) if hasattr(runner, "switcher") else runner.sources,
                "order": list(runner.state.get("order", []))}

    def _send(self, handler, status: int, body: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Cache-Control", "no-store")
        handler.end_headers()
        handler.wfile.write(body)

    def _json(self, handler, status: int, data: dict) -> None:
        self._send(handler, status, json.dumps(data).encode(), "application/json")

    def _get(self, handler) -> None:
        path = handler.path.split("?", 1)[0]
        try:
            if path == "/":
                self._send(handler, HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
            elif path == "/api/state":
                self._json(handler, HTTPStatus.OK, self.state())
            elif path == "/api/face.png":
                self._send(handler, HTTPStatus.OK, self._face_png(), "image/png")
            elif path == "/api/camera.png":
                if not self.runner.study.raw_media:
                    self._json(handler, HTTPStatus.FORBIDDEN, {"error": "features only: raw media is off"})
                else:
                    self._send(handler, HTTPStatus.OK, self._camera_png(), "image/png")
            else:
                self._json(handler, HTTPStatus.NOT_FOUND, {"error": f"no such page {path}"})
        except Exception as error:  # noqa: BLE001 (the console must never take the session down)
            self._json(handler, HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(error)})

    def _post(self, handler) -> None:
        if handler.path != "/api/control":
            self._json(handler, HTTPStatus.NOT_FOUND, {"error": "POST /api/control only"})
            return
        try:
            length = int(handler.headers.get("Content-Length", 0))
            command = json.loads(handler.rfile.read(length) or b"{}").get("command", "")
            self.runner.command(str(command))
        except (ValueError, AttributeError) as error:
            self._json(handler, HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        self._json(handler, HTTPStatus.OK, {"ok": True, "command": command,
                                            "frame": self.runner.live.get("switcher_frame", 0)})

    def _face_png(self) -> bytes:
        import cv2
        import numpy as np

        from react_ros.face.renderer import FaceRenderer

        reaction = np.asarray(self.runner.live.get("reaction", schema.neutral_frame()), np.float32)
        with self._render_lock:
            if self._renderer is None:
                self._renderer = FaceRenderer(192)
            image = self._renderer.render(reaction)
        return cv2.imencode(".png", image)[1].tobytes()

    def _camera_png(self) -> bytes:
        import cv2

        return cv2.imencode(".png", self.runner.clip.image(int(self.runner.live.get("clip_frame", 0))))[1].tobytes()


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>react_ros operator console</title>
<style>
body { font-family: sans-serif; margin: 12px; background: #f4f4f4; }
.row { display: flex; gap: 16px; flex-wrap: wrap; }
.panel { background: white; padding: 10px; border-radius: 6px; }
.bar { display: flex; align-items: center; font-size: 11px; height: 13px; }
.bar span { width: 70px; } .bar div { background: #4a8; height: 9px; }
button { margin: 3px; padding: 6px 10px; font-size: 14px; }
#stop { background: #c33; color: white; } #status { font-weight: bold; }
</style></head>
<body>
<h2>react_ros operator console</h2>
<div class="panel">study <b id="study">-</b>, participant <b id="participant">-</b>:
condition <b id="condition">-</b> (<span id="position">-</span>), active source <b id="active">-</b>,
time left <b id="time_left">-</b> s, frame <span id="frame">-</span>, status <span id="status">-</span>,
latency <span id="latency">-</span> ms, face <span id="face">-</span>, audio <span id="audio">-</span></div>
<div class="row">
 <div class="panel"><h4>participant</h4><img id="camera" width="192" alt="camera">
  <div id="features_only" hidden>features only (raw media off)</div><div id="speaker_bars"></div></div>
 <div class="panel"><h4>robot</h4><img id="robot" width="192" alt="robot face"><div id="reaction_bars"></div></div>
 <div class="panel"><h4>control</h4><div id="switches"></div>
  <button id="neutral" onclick="send('neutral')">hold neutral</button><br>
  <button id="pause" onclick="send('pause')">pause</button>
  <button id="resume" onclick="send('resume')">resume</button>
  <button id="stop" onclick="send('abort')">stop</button>
  <div id="message"></div></div>
</div>
<script>
let built = false;
function bars(id, names, values) {
  const el = document.getElementById(id);
  el.innerHTML = names.map((n, i) => `<div class="bar"><span>${n}</span><div style="width:${
    Math.round(80 * Math.min(1, Math.abs(values[i] || 0)))}px"></div></div>`).join('');
}
async function send(command) {
  const r = await fetch('/api/control', {method: 'POST', body: JSON.stringify({command})});
  document.getElementById('message').textContent = JSON.stringify(await r.json());
}
async function poll() {
  try {
    const s = await (await fetch('/api/state')).json();
    for (const k of ['study', 'participant', 'condition', 'active', 'frame', 'status'])
      document.getElementById(k).textContent = s[k] ?? '-';
    document.getElementById('position').textContent = `${s.position ?? '-'} of ${s.conditions ?? '-'}`;
    document.getElementById('time_left').textContent = (s.time_left_s ?? 0).toFixed(1);
    document.getElementById('latency').textContent = (s.latency_ms ?? 0).toFixed(2);
    document.getElementById('face').textContent = s.face_present ? 'yes' : 'no';
    document.getElementById('audio').textContent = s.audio_present ? 'yes' : 'no';
    if (!built && s.sources) {
      document.getElementById('switches').innerHTML = s.sources.map(n =>
        `<button id="switch-${n}" onclick="send('switch ${n}')">${n}</button>`).join('');
      built = true;
    }
    if (s.reaction) bars('reaction_bars', s.names, s.reaction);
    if (s.speaker) bars('speaker_bars', s.names, s.speaker);
    const t = Date.now();
    document.getElementById('robot').src = '/api/face.png?t=' + t;
    const cam = document.getElementById('camera');
    cam.hidden = !s.raw_media; document.getElementById('features_only').hidden = !!s.raw_media;
    if (s.raw_media) cam.src = '/api/camera.png?t=' + t;
  } catch (e) { document.getElementById('status').textContent = 'disconnected'; }
}
setInterval(poll, 100); poll();
</script></body></html>
"""


def run_participant(runner, heading: str, console_address: tuple[str, int] | None = None, stream=None) -> dict | None:
    """Run one participant's session (offline `StudyRunner` or `RobotStudyRunner`) with the operator's page when
    `console_address` is given: the `study run` loop both command lines share. Returns the final state, or None
    when the operator or a signal aborted it (said on stdout); the page and `stream` are stopped either way."""
    from react_ros.study.runner import Aborted

    console = None
    if console_address is not None:
        console = OperatorConsole(runner, *console_address).start()
        print(f"operator console: {console.url}", flush=True)
    try:
        return runner.run()
    except Aborted as stop:
        print(f"{heading}: {stop}", flush=True)
        return None
    finally:
        if console is not None:
            console.stop()
        if stream is not None:
            stream.stop()
