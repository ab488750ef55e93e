"""The operator console: a page the experimenter opens in a browser while `study run --console` runs.

It shows the participant's camera (only when the study allows raw media; otherwise their feature bars),
the robot's face, the reaction's attribute bars, the current condition and time left, latency and the
participant's face/audio presence, and has buttons to switch condition, hold neutral, pause, resume and
stop. Served by the standard library's HTTP server from a background thread (no extra dependency):

    GET  /?key=KEY         the page (polls /api/state ten times a second)
    GET  /api/state        the runner's live values (JSON)
    GET  /api/face.png     the robot's face, rendered from the current reaction
    GET  /api/camera.png   the participant's current camera frame (403 when the study records features only)
    POST /api/control      {"command": "switch NAME" | "neutral" | "pause" | "resume" | "abort"}

Commands go to StudyRunner.command and take effect before the next frame (a switch: at the next frame).

Safety (the page drives a robot in front of a participant, and any web page the operator's browser opens can
send requests to localhost):
- a per-session secret KEY (printed with the URL, carried in the page's URL) must come with every request:
  the `X-Console-Key` header (the page's fetches), or `key=` in the query for GETs (images);
- the Host header must name this server (a DNS-rebinding page has another host name), and an Origin, when
  sent, must be this server's own;
- control requests must be JSON (`Content-Type: application/json`), which a cross-origin page can only send
  after a CORS preflight this server never grants;
- every control is logged with the console that sent it (`X-Console-Client`, a random id per page load, and
  the address);
- bound to 127.0.0.1 by default; another address needs `allow_remote=True` (`--console-remote`) and warns;
  a port in use is a `ConsoleError` naming it.
"""
from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import secrets
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from react_ros import schema

__all__ = ["ConsoleError", "OperatorConsole", "PAGE", "is_loopback"]

KEY_HEADER = "X-Console-Key"
CLIENT_HEADER = "X-Console-Client"


class ConsoleError(ValueError):
    """The console cannot serve (an address that needs allow_remote, a port in use)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OperatorConsole:
    def __init__(self, runner, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False,
                 key: str | None = None, face_style: str = "cartoon") -> None:
        """key: the session's secret (a fresh random one by default); allow_remote: bind beyond localhost."""
        if not is_loopback(host):
            if not allow_remote:
                raise ConsoleError(f"the console would listen on {host}, beyond this computer: anyone on that "
                                   f"network who gets the key could drive the robot; pass --console-remote "
                                   f"(allow_remote=True) to mean it")
            print(f"WARNING: the operator console listens on {host} (beyond localhost): keep its URL and key to "
                  f"yourself, and use it only on a trusted network", file=sys.stderr, flush=True)
        self.key = key or secrets.token_urlsafe(18)
        self.runner = runner
        self._renderer = None
        self.face_style = face_style  # cartoon | human: the face the console draws (online/face_style.py)
        self._render_lock = threading.Lock()
        console = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: the console polls ten times a second
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                console._get(self)

            def do_POST(self) -> None:  # noqa: N802
                console._post(self)

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ConsoleError(f"port {port} on {host} is in use (another console or program): pick another "
                                   f"with --console-port, or 0 for any free one") from None
            raise ConsoleError(f"cannot serve the console on {host}:{port}: {error.strerror or error}") from None
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        bound, self.port = self.server.server_address[:2]
        # The Host headers that name this server on localhost (a DNS-rebinding page sends its own name); beyond
        # localhost the machine has names we cannot list, and the key and the Origin check carry the safety.
        self.hosts = ({f"{name}:{self.port}" for name in (bound, host, "localhost", "127.0.0.1", "[::1]")}
                      if is_loopback(host) else None)

    @property
    def base(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}/"

    @property
    def url(self) -> str:
        """The page's address with the session's key: what the operator opens (printed by study run)."""
        return f"{self.base}?key={self.key}"

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
        sources = list(runner.switcher.sources) if hasattr(runner, "switcher") else runner.sources
        label = runner.study.label  # coded labels in a blind study: the page never shows the real names
        return {**runner.live, "names": list(schema.ATTRIBUTE_NAMES), "sources": [label(n) for n in sources],
                "order": [label(n) for n in runner.state.get("order", [])], "blind": runner.study.steps.blind}

    def _send(self, handler, status: int, body: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Cache-Control", "no-store")
        handler.end_headers()
        handler.wfile.write(body)

    def _json(self, handler, status: int, data: dict) -> None:
        self._send(handler, status, json.dumps(data).encode(), "application/json")

    def _refusal(self, handler, control: bool = False) -> str | None:
        """Why this request is refused (None: it is allowed)."""
        host = handler.headers.get("Host", "")
        if self.hosts is not None and host not in self.hosts:
            return "wrong Host (only this console's own address is served)"
        origin = handler.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != host:  # a page of another site
            return f"requests from {origin} are refused"
        query = parse_qs(urlsplit(handler.path).query)
        key = handler.headers.get(KEY_HEADER) or ("" if control else (query.get("key") or [""])[0])
        if not hmac.compare_digest(key.encode(), self.key.encode()):
            return "missing or wrong console key: open the URL that study run printed"
        if control and handler.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return "control requests must be JSON (Content-Type: application/json)"
        return None

    def _get(self, handler) -> None:
        path = handler.path.split("?", 1)[0]
        refusal = self._refusal(handler)
        if refusal is not None:
            self._json(handler, HTTPStatus.FORBIDDEN, {"error": refusal})
            return
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
        refusal = self._refusal(handler, control=True)
        if refusal is not None:
            self._json(handler, HTTPStatus.FORBIDDEN, {"error": refusal})
            return
        by = f"console {handler.headers.get(CLIENT_HEADER, '?')[:40]} at {handler.client_address[0]}"
        try:
            length = int(handler.headers.get("Content-Length", 0))
            command = json.loads(handler.rfile.read(length) or b"{}").get("command", "")
            self.runner.command(str(command), by=by)
        except (ValueError, AttributeError) as error:
            self._json(handler, HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        self._json(handler, HTTPStatus.OK, {"ok": True, "command": command,
                                            "frame": self.runner.live.get("switcher_frame", 0)})

    def _face_png(self) -> bytes:
        import cv2
        import numpy as np

        from react_ros.online.face_style import face_renderer

        reaction = np.asarray(self.runner.live.get("reaction", schema.neutral_frame()), np.float32)
        with self._render_lock:
            if self._renderer is None:
                self._renderer = face_renderer(self.face_style, 192)
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
 <div class="panel"><h4>session</h4>
  <div id="consent_step" hidden>consent form <b id="consent_version"></b>:
   <input id="consent_by" placeholder="recorded by"><button id="consent" onclick="consent()">consent given</button></div>
  <div id="ready_step" hidden><button id="start" onclick="send('start')">start the condition</button></div>
  <div id="break_step" hidden>break, <span id="break_left"></span> s left
   <button id="skip" onclick="send('skip')">end the break</button></div>
  <form id="questionnaire" hidden onsubmit="answer(event)"><div id="questions"></div>
   <button id="submit_answers" type="submit">submit answers</button></form>
  <div id="done_step" hidden><b>session ended</b></div>
  <div id="marker_buttons"></div>
  <input id="note_text" placeholder="note"><button id="note" onclick="note()">add note</button></div>
</div>
<script>
const key = new URLSearchParams(location.search).get('key') || '';
const client = Math.random().toString(36).slice(2, 10);  // which console sent a command (the log says)
const headers = {'X-Console-Key': key, 'X-Console-Client': client};
let built = false;
function bars(id, names, values) {
  const el = document.getElementById(id);
  el.innerHTML = names.map((n, i) => `<div class="bar"><span>${n}</span><div style="width:${
    Math.round(80 * Math.min(1, Math.abs(values[i] || 0)))}px"></div></div>`).join('');
}
async function send(command) {
  const r = await fetch('/api/control', {method: 'POST', body: JSON.stringify({command}),
                                         headers: {...headers, 'Content-Type': 'application/json'}});
  document.getElementById('message').textContent = JSON.stringify(await r.json());
}
function consent() { send('consent ' + document.getElementById('consent_by').value); }
function note() {
  const el = document.getElementById('note_text'); send('note ' + el.value); el.value = '';
}
function answer(e) {
  e.preventDefault();
  const answers = {};
  for (const el of document.querySelectorAll('#questions [name]')) {
    if (el.type === 'radio' && !el.checked) continue;
    answers[el.name] = el.value;
  }
  send('answers ' + JSON.stringify(answers));
}
function questions(items) {
  document.getElementById('questions').innerHTML = items.map(q => q.kind === 'text' ?
    `<div>${q.text}<br><textarea name="${q.id}" id="q-${q.id}"></textarea></div>` :
    `<div>${q.text}<br>${Array.from({length: q.high - q.low + 1}, (_, i) => q.low + i).map(v =>
      `<label><input type="radio" name="${q.id}" id="q-${q.id}-${v}" value="${v}">${v}</label>`).join(' ')}</div>`
  ).join('');
}
let markers = [], shownQuestions = '', lastStatus = '';
document.addEventListener('keydown', e => {  // markers on keys 1..9 (not while typing)
  if (e.target.tagName === 'INPUT' || e.target.tagName === 'TEXTAREA') return;
  const marker = markers[Number(e.key) - 1];
  if (marker) send('mark ' + marker);
});
async function poll() {
  try {
    const s = await (await fetch('/api/state', {headers})).json();
    lastStatus = s.status;
    for (const [id, step] of [['consent_step', 'consent'], ['ready_step', 'ready'], ['break_step', 'break'],
                              ['questionnaire', 'questionnaire'], ['done_step', 'done']])
      document.getElementById(id).hidden = s.status !== step;
    document.getElementById('consent_version').textContent = s.consent_version ?? '';
    document.getElementById('break_left').textContent = (s.break_left_s ?? 0).toFixed(0);
    const asked = JSON.stringify(s.questionnaire || []);
    if (s.status === 'questionnaire' && asked !== shownQuestions) { questions(s.questionnaire); shownQuestions = asked; }
    if (s.status !== 'questionnaire') shownQuestions = '';
    if (!markers.length && s.markers && s.markers.length) {
      markers = s.markers;
      document.getElementById('marker_buttons').innerHTML = markers.map((m, i) =>
        `<button id="marker-${m}" onclick="send('mark ${m}')">${m}${i < 9 ? ` (${i + 1})` : ''}</button>`).join('');
    }
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
    document.getElementById('robot').src = `/api/face.png?t=${t}&key=${encodeURIComponent(key)}`;
    const cam = document.getElementById('camera');
    cam.hidden = !s.raw_media; document.getElementById('features_only').hidden = !!s.raw_media;
    if (s.raw_media) cam.src = `/api/camera.png?t=${t}&key=${encodeURIComponent(key)}`;
  } catch (e) {  // the session is over (the console stops with it), or the network is gone
    document.getElementById('status').textContent = lastStatus === 'done' || lastStatus === 'aborted' ?
      'session ended' : 'disconnected';
  }
}
setInterval(poll, 100); poll();
</script></body></html>
"""


def run_participant(runner, heading: str, console_address: tuple | None = None, stream=None) -> dict | None:
    """Run one participant's session (offline `StudyRunner` or `RobotStudyRunner`) with the operator's page when
    `console_address` (host, port[, allow_remote]) is given: the `study run` loop both command lines share.
    Returns the final state, or None
    when the operator or a signal aborted it (said on stdout); the page and `stream` are stopped either way."""
    from react_ros.study.runner import Aborted

    console = None
    if console_address is not None:
        console = OperatorConsole(runner, *console_address).start()
        print(f"operator console: {console.url}", flush=True)
    try:
        state = runner.run()
        if console is not None:
            time.sleep(1.0)  # the page shows "session ended" before the console goes
        return state
    except Aborted as stop:
        print(f"{heading}: {stop}", flush=True)
        return None
    finally:
        if console is not None:
            console.stop()
        if stream is not None:
            stream.stop()
