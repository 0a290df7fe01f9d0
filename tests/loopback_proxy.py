"""An HTTP proxy on loopback (CONNECT tunnels and absolute-form forwarding), and an address nobody answers on.

The proxy is how the tests put the hub where only a proxy reaches it, as on clusters whose outbound
traffic must go through HTTPS_PROXY: HF_ENDPOINT names a loopback port that refuses connections
(`RefusedPort`: bound, never listening), and the proxy's `routes` send that address on to the
port the loopback hub really listens on. A direct connection to HF_ENDPOINT is refused at once;
the same request through the proxy arrives. Every request the proxy handles is logged in
`requests` ("CONNECT host:port" or "GET http://host:port/path"). One request per client
connection: the proxy answers with `Connection: close`.
"""

import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit


class RefusedPort:
    """A loopback port held bound but never listening: connecting to it is refused (until close())."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._socket.close()


class LoopbackProxy:
    """The proxy; `url` is what HTTP_PROXY / HTTPS_PROXY are set to. `routes` maps (host, port) on."""

    def __init__(self, routes: dict[tuple[str, int], tuple[str, int]] | None = None) -> None:
        self.routes = dict(routes or {})
        self.requests: list[str] = []
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def target(self, host: str, port: int) -> tuple[str, int]:
        return self.routes.get((host, port), (host, port))

    def start(self) -> "LoopbackProxy":
        threading.Thread(target=self._server.serve_forever, name="loopback-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LoopbackProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler(proxy: LoopbackProxy) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(65536).decode("latin-1").strip()
            if not line:
                return
            headers = []
            while (header := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
                headers.append(header.decode("latin-1").rstrip("\r\n"))
            method, target, version = line.split(" ", 2)
            proxy.requests.append(f"{method} {target}")
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = self._connect(host.strip("[]"), int(port))
                if upstream is None:
                    return
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                _pipe(self.connection, upstream)
                return
            url = urlsplit(target)
            upstream = self._connect(url.hostname or "", url.port or 80)
            if upstream is None:
                return
            kept = [h for h in headers if not h.lower().startswith(("proxy-", "connection:", "keep-alive:"))]
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            request = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
            length = next(
                (int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")), 0
            )
            upstream.sendall(request.encode("latin-1") + (self.rfile.read(length) if length else b""))
            self._relay_response(upstream)

        def _connect(self, host: str, port: int) -> socket.socket | None:
            try:
                return socket.create_connection(proxy.target(host, port), timeout=10)
            except OSError:
                self.wfile.write(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return None

        def _relay_response(self, upstream: socket.socket) -> None:
            # Rewrite the response head to Connection: close, then stream the body until upstream ends.
            reader = upstream.makefile("rb")
            head = [reader.readline(65536)]
            while head[-1] not in (b"\r\n", b"\n", b""):
                head.append(reader.readline(65536))
            lines = [h for h in head[:-1] if not h.lower().startswith((b"connection:", b"keep-alive:"))]
            self.wfile.write(b"".join(lines) + b"Connection: close\r\n\r\n")
            self.wfile.flush()
            upstream.settimeout(None)
            while chunk := reader.read1(65536):
                self.wfile.write(chunk)
                self.wfile.flush()
            upstream.close()

    return Handler


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    with upstream:
        while True:
            ready, _, _ = select.select(sockets, [], [], 60)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)
