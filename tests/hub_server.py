"""A minimal local stand-in for the Hugging Face Hub HTTP API, as a pytest fixture.

It answers the endpoints `huggingface_hub`'s upload path calls (repo create,
README YAML validation, preupload, ndjson commit), records every request and
keeps the committed files in memory. All files are answered "regular"
(inline base64 in the commit), so the Xet/LFS blob transfer that the real hub
uses for large files is not exercised.

Use it from any test module with `from hub_server import local_hub  # noqa: F401`.
"""
import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

_REPO = r"/api/models/(?P<repo>[^/]+/[^/]+)"
_ROUTES = [
    ("POST", re.compile(r"/api/repos/create"), "create"),
    ("POST", re.compile(r"/api/validate-yaml"), "validate_yaml"),
    ("POST", re.compile(_REPO + r"/preupload/(?P<rev>[^/?]+)"), "preupload"),
    ("POST", re.compile(_REPO + r"/commit/(?P<rev>[^/?]+)"), "commit"),
]


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Repo:
    private: bool
    files: dict = field(default_factory=dict)  # path -> bytes
    commits: list = field(default_factory=list)  # commit summaries


class LocalHub:
    """Threaded HTTP server on 127.0.0.1 (free port) that records requests and stores commits."""

    def __init__(self):
        self.requests: list = []
        self.repos: dict = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                self._dispatch()

            def do_POST(self):
                self._dispatch()

            def _dispatch(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hub.requests.append(Request(self.command, self.path, dict(self.headers), body))
                path = self.path.split("?")[0]
                for method, pattern, name in _ROUTES:
                    match = pattern.fullmatch(path)
                    if method == self.command and match:
                        status, payload = getattr(hub, "_" + name)(body, **match.groupdict())
                        break
                else:
                    status, payload = 404, {"error": f"local hub: no route for {self.command} {path}"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- endpoints -------------------------------------------------------
    def _create(self, body):
        payload = json.loads(body)
        repo_id = f"{payload.get('organization') or 'local-user'}/{payload['name']}"  # like the hub: user namespace
        url = f"{self.endpoint}/{repo_id}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this model repo", "url": url}
        self.repos[repo_id] = Repo(private=payload.get("visibility") == "private")
        return 200, {"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}

    def _validate_yaml(self, body):
        content = json.loads(body)["content"]
        match = re.match(r"^---\n(.*?)\n---", content, re.S)
        try:
            yaml.safe_load(match.group(1) if match else "")
        except yaml.YAMLError as err:
            return 400, {"errors": [{"message": str(err)}]}
        return 200, {"errors": [], "warnings": []}

    def _preupload(self, body, repo, rev):
        if repo not in self.repos:
            return 404, {"error": f"Repository {repo} not found"}
        files = json.loads(body)["files"]
        return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}

    def _commit(self, body, repo, rev):
        if repo not in self.repos:
            return 404, {"error": f"Repository {repo} not found"}
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        for line in lines:
            if line["key"] == "file":
                value = line["value"]
                self.repos[repo].files[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] != "header":
                return 400, {"error": f"local hub: unsupported commit operation {line['key']}"}
        self.repos[repo].commits.append(header["summary"])
        oid = hashlib.sha1(body).hexdigest()
        return 200, {"commitUrl": f"{self.endpoint}/{repo}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}

    # --- helpers for tests ----------------------------------------------
    def routes_called(self, method: str = None) -> list:
        """`"METHOD /path"` of the recorded requests (all, or one method's), query strings dropped, in order."""
        return [f"{r.method} {r.path.split('?')[0]}" for r in self.requests if method in (None, r.method)]


@pytest.fixture
def local_hub(monkeypatch):
    """A running `LocalHub`; `huggingface_hub` talks to it (HF_ENDPOINT, online, test token)."""
    from huggingface_hub import constants

    hub = LocalHub()
    hub.thread.start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_TOKEN", "hf_localtesttoken")
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    yield hub
    hub.server.shutdown()
    hub.server.server_close()
