"""A stand-in for the parts of GitLab's REST API (v4) the GitLab recipe calls, over real HTTP so
the recipe's urllib code runs as in the job: merge-request notes (list, create, edit), the
merge requests of a commit, a merge request's pipelines, a pipeline's jobs and a job's
artifact file. Every call needs the PRIVATE-TOKEN; anything else is a 404 the recipe sees."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "glpat-harness"
BOT_ID = 77


class FakeGitLab:
    def __init__(self, project_id: int = 42) -> None:
        self.project_id = project_id
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.commit_mrs: dict[str, list[dict[str, Any]]] = {}
        self.mr_pipelines: dict[int, list[dict[str, Any]]] = {}  # newest first
        self.pipeline_jobs: dict[int, list[dict[str, Any]]] = {}
        self.job_files: dict[int, Path] = {}
        self._jobs = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record_pipeline(
        self, pipeline_id: int, sha: str, status: str, mr_iid: int | None, jobs: list[Any]
    ) -> None:
        listed = []
        for job in jobs:
            self._jobs += 1
            job_id = 3000 + self._jobs
            listed.append({"id": job_id, "name": job.name, "status": job.status})
            if job.name in job.artifacts:
                self.job_files[job_id] = job.artifacts[job.name]
        self.pipeline_jobs[pipeline_id] = listed
        if mr_iid is not None:
            entry = {"id": pipeline_id, "sha": sha, "status": status}
            self.mr_pipelines.setdefault(mr_iid, []).insert(0, entry)

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        prefix = f"/api/v4/projects/{self.project_id}/"
        if path == "/api/v4/user" and method == "GET":
            return {"id": BOT_ID, "username": f"project_{self.project_id}_bot"}
        if not path.startswith(prefix):
            return None
        rest = path[len(prefix) :]
        if m := re.fullmatch(r"merge_requests/(\d+)/notes", rest):
            notes = self.notes.setdefault(int(m[1]), [])
            if method == "GET":
                page, size = int(query.get("page", ["1"])[0]), int(query["per_page"][0])
                return notes[(page - 1) * size : page * size]
            if method == "POST" and set(body) == {"body"}:
                notes.append(
                    {"id": 100 + len(notes), "body": body["body"], "author": {"id": BOT_ID}}
                )
                return notes[-1]
        if (m := re.fullmatch(r"merge_requests/(\d+)/notes/(\d+)", rest)) and method == "PUT":
            note = next((n for n in self.notes.get(int(m[1]), []) if n["id"] == int(m[2])), None)
            if note is None or note["author"]["id"] != BOT_ID or set(body) != {"body"}:
                return None
            note["body"] = body["body"]
            return note
        if method != "GET":
            return None
        if m := re.fullmatch(r"repository/commits/(\w+)/merge_requests", rest):
            return self.commit_mrs.get(m[1], [])
        if m := re.fullmatch(r"merge_requests/(\d+)/pipelines", rest):
            return self.mr_pipelines.get(int(m[1]), [])
        if m := re.fullmatch(r"pipelines/(\d+)/jobs", rest):
            scopes = query.get("scope[]", [])
            jobs = self.pipeline_jobs.get(int(m[1]), [])
            return [j for j in jobs if not scopes or j["status"] in scopes]
        if m := re.fullmatch(r"jobs/(\d+)/artifacts/(.+)", rest):
            folder = self.job_files.get(int(m[1]))
            file = folder / m[2] if folder else None
            return file.read_bytes() if file and file.is_file() else None
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                if self.headers.get("PRIVATE-TOKEN") != TOKEN:
                    return self._send(401, {"message": "401 Unauthorized"})
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                answer = api.route(self.command, split.path, parse_qs(split.query), body)
                if answer is None:
                    return self._send(404, {"message": "404 Not found"})
                return self._send(200, answer)

            def _send(self, status: int, answer: Any) -> None:
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
