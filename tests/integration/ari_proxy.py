"""
An HTTPS reverse proxy in front of Pebble that adds ACME Renewal Information
(ARI, RFC 9773) and records what the ACME client sent.

Honest note: Debian's Pebble 2.4.0 has no `renewalInfo`.  This proxy is a TEST
SERVER STANDING IN FOR A CA WITH ARI: the renewal windows it hands out are
whatever the test asks for, not a CA's judgement.  Everything else is Pebble's
own answer, passed through unchanged.

How it works:
  - Every request (method, path, headers, body) is forwarded to Pebble over
    HTTPS and Pebble's answer (status, headers, body) is returned.  The Host
    header is forwarded as the client sent it (the proxy's address): Pebble
    builds every URL it hands out (directory, Location, Link, order and
    authorization URLs) from the request's Host, and checks a JWS's "url"
    against it, so the client keeps talking to Pebble *through the proxy* and
    the proxy sees every request, newOrder included.
  - GET /dir: Pebble's directory plus "renewalInfo": <proxy>/renewal-info
    (unless add_renewal_info=False: then the proxy only records).
  - GET /renewal-info/<certID>: a renewalInfo document
    {"suggestedWindow": {"start": ..., "end": ...}} (RFC 3339, UTC) with the
    window that window_for(cert_id, time_asked) returns, and Retry-After.
    window_for returning None answers 404 (urn:ietf:params:acme:error:malformed);
    returning an int N answers HTTP N with a serverInternal problem and
    Retry-After (a CA having trouble).
  - delay_for(method, path, payload) -> seconds (optional): holds a request that
    long before forwarding it, to freeze the client at a known step.
  - answer_for(method, path, payload) -> None or (status, problem dict)
    (optional): answers a request with that problem document instead of
    forwarding it (a CA refusing), with a fresh Replay-Nonce from Pebble as a
    real CA would send.  Recorded like a forwarded exchange, with "faked": True.
  - utc_offset_minutes: the windows are written in RFC 3339 with that offset
    ("+01:00") instead of "Z" (the same instants).

What is recorded (thread-safe, read through the methods):
  exchanges()         every forwarded request: dict(time (of arrival), method, path, status,
                      request_body, response_body, payload), where payload is
                      the JWS payload of a POST, base64url-decoded and parsed
                      (None for POST-as-GET and when it is not JSON)
  renewal_info_asks() [(time, certID)] in order
  windows()           {certID: (start_epoch, end_epoch)} of the windows answered
  new_orders()        the exchanges whose path is the directory's newOrder

Usable on its own too:
  python3 ari_proxy.py --upstream 127.0.0.1:14000 --upstream-ca ca.pem \
      --cert srv.pem --key srv.key [--port 0] [--window-start 5 --window-end 10]
"""

import base64
import datetime
import http.client
import http.server
import json
import socketserver
import ssl
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "expect", "content-length"}

UPSTREAM_TIMEOUT = 60.0


def b64url_decode(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def rfc3339(epoch, utc_offset_minutes=0):
    """Seconds since the epoch -> '2026-11-29T15:20:30Z' (or '...T16:20:30+01:00')."""
    if utc_offset_minutes == 0:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) \
            .strftime("%Y-%m-%dT%H:%M:%SZ")
    tz = datetime.timezone(datetime.timedelta(minutes=utc_offset_minutes))
    return datetime.datetime.fromtimestamp(int(epoch), tz).isoformat()


def jws_payload(body):
    """The decoded payload of a flattened JWS (dict), or None."""
    try:
        jws = json.loads(body)
        raw = jws.get("payload")
        if not raw:
            return None          # POST-as-GET
        return json.loads(b64url_decode(raw))
    except (ValueError, TypeError, AttributeError):
        return None


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ARIProxy:
    def __init__(self, upstream, upstream_ca, cert, key, window_for=None, retry_after=3600,
                 add_renewal_info=True, delay_for=None, answer_for=None,
                 utc_offset_minutes=0, host="127.0.0.1", port=0):
        """
        upstream: (host, port) of Pebble's ACME listener; upstream_ca: the CA
        file that signed Pebble's TLS certificate; cert/key: the proxy's own TLS
        certificate (the same localhost certificate Pebble uses is fine).
        window_for(cert_id, now) -> (start_epoch, end_epoch) or None.
        """
        self.upstream = upstream
        self.upstream_ctx = ssl.create_default_context(cafile=str(upstream_ca))
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.load_cert_chain(str(cert), str(key))
        self.window_for = window_for
        self.retry_after = retry_after
        self.add_renewal_info = add_renewal_info
        self.delay_for = delay_for
        self.answer_for = answer_for
        self.utc_offset_minutes = utc_offset_minutes
        self._new_nonce_path = None
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._exchanges = []
        self._asks = []
        self._windows = {}
        self._new_order_path = None
        self._errors = []
        self._httpd = None
        self._thread = None

    # ---------------------------------------------------------------- control

    @property
    def base_url(self):
        return f"https://{self.host}:{self.port}"

    @property
    def directory_url(self):
        return f"{self.base_url}/dir"

    @property
    def renewal_info_url(self):
        return f"{self.base_url}/renewal-info"

    def start(self):
        proxy = self

        class Handler(_Handler):
            pass
        Handler.proxy = proxy
        self._httpd = _Server((self.host, self.port), Handler, bind_and_activate=False)
        self._httpd.socket = self.server_ctx.wrap_socket(self._httpd.socket, server_side=True,
                                                         do_handshake_on_connect=False)
        self._httpd.server_bind()
        self._httpd.server_activate()
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="ari-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # --------------------------------------------------------------- records

    def exchanges(self):
        with self._lock:
            return list(self._exchanges)

    def renewal_info_asks(self):
        with self._lock:
            return list(self._asks)

    def windows(self):
        with self._lock:
            return dict(self._windows)

    def fake_answers(self):
        with self._lock:
            return [e for e in self._exchanges if e.get("faked")]

    def new_orders(self):
        with self._lock:
            path = self._new_order_path
            return [e for e in self._exchanges if path is not None and e["path"] == path
                    and e["method"] == "POST"]

    def errors(self):
        """Exceptions the proxy met while forwarding (it answered 502 then)."""
        with self._lock:
            return list(self._errors)

    # ---------------------------------------------------------- internals

    def _record(self, entry):
        with self._lock:
            self._exchanges.append(entry)

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPSConnection(self.upstream[0], self.upstream[1],
                                           context=self.upstream_ctx, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            if body or method in ("POST", "PUT"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()

    def _fresh_nonce(self):
        with self._lock:
            path = self._new_nonce_path
        if path is None:
            return None
        _status, _reason, headers, _data = self._forward("HEAD", path, [], b"")
        for name, value in headers:
            if name.lower() == "replay-nonce":
                return value
        return None

    def _renewal_info(self, cert_id):
        now = time.time()
        window = self.window_for(cert_id, now) if self.window_for is not None else None
        with self._lock:
            self._asks.append((now, cert_id))
            if isinstance(window, int):
                body = json.dumps({"type": "urn:ietf:params:acme:error:serverInternal",
                                   "detail": "renewal information is unavailable right now",
                                   "status": window}).encode()
                return window, [("Content-Type", "application/problem+json"),
                                ("Retry-After", str(self.retry_after))], body
            if window is not None:
                self._windows.setdefault(cert_id, (int(window[0]), int(window[1])))
                window = self._windows[cert_id]      # the same answer every time asked
        if window is None:
            body = json.dumps({"type": "urn:ietf:params:acme:error:malformed",
                               "detail": f"no renewal information for {cert_id}"}).encode()
            return 404, [("Content-Type", "application/problem+json")], body
        off = self.utc_offset_minutes
        body = json.dumps({"suggestedWindow": {"start": rfc3339(window[0], off),
                                               "end": rfc3339(window[1], off)}}).encode()
        return 200, [("Content-Type", "application/json"),
                     ("Retry-After", str(self.retry_after))], body


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy = None       # set on the subclass made by ARIProxy.start

    def log_message(self, fmt, *args):   # quiet: the records say what happened
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, headers, body, reason=None):
        self.send_response(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        p = self.proxy
        arrived = time.time()
        body = self._body()
        path = self.path
        route = urllib.parse.urlsplit(path).path
        if self.command == "GET" and p.add_renewal_info and route.startswith("/renewal-info/"):
            cert_id = route[len("/renewal-info/"):]
            status, headers, out = p._renewal_info(cert_id)
            self._send(status, headers, out)
            return
        payload = jws_payload(body) if self.command == "POST" else None
        if p.delay_for is not None:
            delay = p.delay_for(self.command, route, payload)
            if delay:
                time.sleep(delay)
        fake = p.answer_for(self.command, route, payload) if p.answer_for is not None else None
        if fake is not None:
            status, problem = fake
            out = json.dumps(problem).encode()
            headers = [("Content-Type", "application/problem+json")]
            try:
                nonce = p._fresh_nonce()
            except Exception as e:        # noqa: BLE001 - recorded; answered without a nonce
                nonce = None
                with p._lock:
                    p._errors.append(f"HEAD newNonce: {e!r}")
            if nonce:
                headers.append(("Replay-Nonce", nonce))
            p._record({"time": arrived, "method": self.command, "path": path, "status": status,
                       "request_body": body, "response_body": out, "payload": payload,
                       "faked": True})
            self._send(status, headers, out)
            return
        try:
            status, reason, headers, out = p._forward(self.command, path, self.headers.items(),
                                                      body)
        except Exception as e:        # noqa: BLE001 - answered as 502 and recorded
            with p._lock:
                p._errors.append(f"{self.command} {path}: {e!r}")
            self._send(502, [("Content-Type", "text/plain")], f"proxy: {e!r}\n".encode())
            return
        if self.command == "GET" and route == "/dir" and status == 200:
            try:
                directory = json.loads(out)
                with p._lock:
                    new_order = directory.get("newOrder")
                    if new_order:
                        p._new_order_path = urllib.parse.urlsplit(new_order).path
                    if directory.get("newNonce"):
                        p._new_nonce_path = urllib.parse.urlsplit(directory["newNonce"]).path
                if p.add_renewal_info:
                    directory["renewalInfo"] = p.renewal_info_url
                out = json.dumps(directory, indent=2).encode()
            except ValueError:
                pass
        p._record({"time": arrived, "method": self.command, "path": path,
                   "status": status, "request_body": body, "response_body": out,
                   "payload": payload})
        self._send(status, headers, out, reason)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="Pebble's HOST:PORT")
    ap.add_argument("--upstream-ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--window-start", type=int, default=5, help="seconds after the ask")
    ap.add_argument("--window-end", type=int, default=10, help="seconds after the ask")
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    proxy = ARIProxy((host, int(port)), a.upstream_ca, a.cert, a.key,
                     window_for=lambda cid, now: (now + a.window_start, now + a.window_end),
                     port=a.port).start()
    print(f"ARI proxy: {proxy.directory_url} -> https://{a.upstream}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
