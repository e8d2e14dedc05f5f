#!/usr/bin/python3
"""A Zenodo double for the archive tests: the legacy deposit API as Zenodo implements it
(quirks included), on loopback, standard library only.

Usage: zenodo.py PORT [TOKEN...]   (default tokens: test-token other-token)

Behaviour: create 201; bucket PUT 201 with "checksum": "md5:..."; metadata PUT validates
and answers 400 {status, message, errors: [{field, messages}]}; publish 202, a repeat
publish 404; file DELETE 204; newversion (on a published deposition id only; a concept
id is 404) answers the old deposition with links.latest_draft and copies its files into
the new draft, and while a draft of the concept is open returns that same draft;
GET /api/records/{conceptrecid} 404; prereserve_doi in every draft; license vocabulary
lookups (/api/vocabularies/licenses/{id} and /api/licenses/{id}); 401 without a known
token, 403 for another token's deposition. A file key with '/' or '\\' is refused (400), as
the stricter reading of Zenodo, which has no folders.

Test controls (no token needed):
  GET  /_state    every deposition with its files, the concepts, the request log
  GET  /_file/{deposition}/{name}   the bytes of one deposited file
  POST /_faults   {"faults": [{"step": S, "kind": "429"|"500"|"drop"|"delay", "times": N,
                   "seconds": X}]}; step is create, get, newversion, delete, upload,
                   metadata, publish, license or any. A fault fires on the next N requests
                   of that step, before they are processed (a dropped connection closes
                   the socket without an answer; delay sleeps X seconds, then processes).
"""
import hashlib
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LICENSES = {"cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "mit", "apache-2.0", "bsd-3-clause", "bsd-2-clause",
            "gpl-3.0-only", "lgpl-3.0-only", "cc-by-nc-4.0"}
UPLOAD_TYPES = {"publication", "poster", "presentation", "dataset", "image", "video", "software", "lesson",
                "physicalobject", "other"}

lock = threading.Lock()
state = {"next": 1000, "depositions": {}, "buckets": {}, "log": [], "faults": []}


def next_id():
    state["next"] += 1
    return state["next"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("zenodo-fake: " + (fmt % args) + "\n")

    # ---- plumbing
    def base(self):
        return "http://%s:%d" % self.server.server_address[:2]

    def send_json(self, status, obj, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message, errors=None):
        obj = {"status": status, "message": message}
        if errors:
            obj["errors"] = errors
        self.send_json(status, obj)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def token(self):
        a = self.headers.get("Authorization", "")
        if not a.startswith("Bearer "):
            return None
        t = a[7:]
        return t if t in self.server.tokens else None

    def fault(self, step):
        """Returns True when the request was answered (or dropped) by a fault."""
        with lock:
            f = next((f for f in state["faults"] if f["step"] in (step, "any") and f["times"] > 0), None)
            if f:
                f["times"] -= 1
                f["fired"] = f.get("fired", 0) + 1
        if not f:
            return False
        if f["kind"] == "delay":
            time.sleep(float(f.get("seconds", 5)))
            return False
        self.body()
        self.close_connection = True
        if f["kind"] == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return True
        if f["kind"] == "429":
            self.send_json(429, {"status": 429, "message": "Too many requests."},
                           {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(int(time.time()) + 1), "Retry-After": "1"})
            return True
        self.error(500, "Internal server error.")
        return True

    def dep_json(self, d):
        b = self.base()
        dep = {
            "id": d["id"], "conceptrecid": str(d["conceptrecid"]), "record_id": d["id"],
            "doi": d["doi"], "doi_url": ("https://doi.org/" + d["doi"]) if d["doi"] else "",
            "state": "done" if d["submitted"] else "unsubmitted", "submitted": d["submitted"],
            "metadata": dict(d["metadata"], prereserve_doi={"doi": "10.5072/zenodo.%d" % d["id"], "recid": d["id"]}),
            "files": [{"id": f["id"], "filename": k, "filesize": len(f["data"]), "checksum": f["md5"],
                       "links": {"self": "%s/api/deposit/depositions/%d/files/%s" % (b, d["id"], f["id"]),
                                 "download": "%s/api/files/%s/%s" % (b, d["bucket"], k)}}
                      for k, f in sorted(d["files"].items())],
            "links": {"self": "%s/api/deposit/depositions/%d" % (b, d["id"]),
                      "bucket": "%s/api/files/%s" % (b, d["bucket"]),
                      "publish": "%s/api/deposit/depositions/%d/actions/publish" % (b, d["id"]),
                      "newversion": "%s/api/deposit/depositions/%d/actions/newversion" % (b, d["id"])},
        }
        if d["submitted"]:
            dep["conceptdoi"] = "10.5072/zenodo.%d" % d["conceptrecid"]
        draft = self.open_draft(d["conceptrecid"])
        if draft:
            dep["links"]["latest_draft"] = "%s/api/deposit/depositions/%d" % (b, draft["id"])
        return dep

    def open_draft(self, conceptrecid):
        for d in state["depositions"].values():
            if d["conceptrecid"] == conceptrecid and not d["submitted"] and d.get("is_new_version"):
                return d
        return None

    def new_dep(self, owner, conceptrecid, files=None, metadata=None, new_version=False):
        did = next_id()
        bucket = str(uuid.uuid4())
        d = {"id": did, "conceptrecid": conceptrecid, "owner": owner, "submitted": False, "doi": "",
             "bucket": bucket, "files": {}, "metadata": dict(metadata or {}), "is_new_version": new_version,
             "publish_count": 0}
        for k, f in (files or {}).items():
            d["files"][k] = {"id": str(uuid.uuid4()), "data": f["data"], "md5": f["md5"]}
        state["depositions"][did] = d
        state["buckets"][bucket] = did
        return d

    def find(self, did, tok):
        """(deposition, None) or (None, answered)."""
        d = state["depositions"].get(did)
        if not d:
            self.error(404, "PID does not exist.")
            return None
        if d["owner"] != tok:
            self.error(403, "You don't have the permission to access the requested resource.")
            return None
        return d

    # ---- routing
    def route(self, method):
        path = urlsplit(self.path).path
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if path == "/_state" and method == "GET":
            with lock:
                s = {"depositions": [{k: v for k, v in d.items() if k not in ("files",)} | {
                    "files": {n: {"size": len(f["data"]), "md5": f["md5"]} for n, f in d["files"].items()}}
                    for d in state["depositions"].values()], "log": state["log"], "faults": state["faults"]}
            return self.send_json(200, s)
        if path.startswith("/_file/") and method == "GET" and len(parts) == 3:
            # the bytes of a deposited file, for tests that restore a version from its record
            with lock:
                d = state["depositions"].get(int(parts[1])) if parts[1].isdigit() else None
                f = d["files"].get(parts[2]) if d else None
            if not f:
                return self.error(404, "no such file")
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(f["data"])))
            self.end_headers()
            self.wfile.write(f["data"])
            return None
        if path == "/_faults" and method == "POST":
            req = json.loads(self.body() or b"{}")
            with lock:
                state["faults"] = [dict(f, times=int(f.get("times", 1))) for f in req.get("faults", [])]
            return self.send_json(200, {"faults": state["faults"]})
        step = self.step_of(method, parts)
        if self.fault(step):
            return
        with lock:
            state["log"].append({"method": method, "path": path, "step": step})
            if parts[:3] == ["api", "vocabularies", "licenses"] and len(parts) == 4 or \
                    parts[:2] == ["api", "licenses"] and len(parts) == 3:
                if parts[-1] in LICENSES:
                    return self.send_json(200, {"id": parts[-1], "title": {"en": parts[-1].upper()}})
                return self.error(404, "The persistent identifier does not exist.")
            if parts[:2] == ["api", "records"] and len(parts) == 3:
                # a concept record id is not a record (a Zenodo quirk); published records are
                for d in state["depositions"].values():
                    if str(d["id"]) == parts[2] and d["submitted"]:
                        return self.send_json(200, {"id": d["id"], "doi": d["doi"]})
                return self.error(404, "PID does not exist.")
            tok = self.token()
            if tok is None:
                self.body()
                return self.error(401, "The server could not verify that you are authorized to access the URL requested.")
            return self.deposit(method, parts, tok)

    @staticmethod
    def step_of(method, parts):
        if parts[:2] == ["api", "files"]:
            return "upload"
        if parts[:2] in (["api", "vocabularies"], ["api", "licenses"]):
            return "license"
        if parts[:3] == ["api", "deposit", "depositions"]:
            if len(parts) == 3 and method == "POST":
                return "create"
            if len(parts) == 6 and parts[4] == "actions":
                return parts[5]
            if len(parts) == 6 and parts[4] == "files" and method == "DELETE":
                return "delete"
            if len(parts) == 4 and method == "PUT":
                return "metadata"
            if len(parts) == 4 and method == "GET":
                return "get"
        return "other"

    def deposit(self, method, parts, tok):
        body = self.body()
        if parts[:2] == ["api", "files"] and len(parts) >= 4 and method == "PUT":
            did = state["buckets"].get(parts[2])
            if did is None:
                return self.error(404, "Bucket does not exist.")
            d = self.find(did, tok)
            if not d:
                return
            if d["submitted"]:
                return self.error(403, "Bucket is locked.")
            key = "/".join(parts[3:])
            # Zenodo has no folders: the stricter reading refuses a key that names one
            if len(parts) != 4 or "/" in key or "\\" in key:
                return self.error(400, "File names cannot contain '/' or '\\': Zenodo has no folders.")
            md5 = "md5:" + hashlib.md5(body).hexdigest()
            d["files"][key] = {"id": str(uuid.uuid4()), "data": body, "md5": md5}
            return self.send_json(201, {"key": key, "size": len(body), "checksum": md5, "mimetype": "application/octet-stream",
                                        "links": {"self": "%s/api/files/%s/%s" % (self.base(), parts[2], key)}})
        if parts[:3] != ["api", "deposit", "depositions"]:
            return self.error(404, "The requested URL was not found on the server.")
        if len(parts) == 3 and method == "POST":
            cid = next_id()
            d = self.new_dep(tok, cid)
            return self.send_json(201, self.dep_json(d))
        try:
            did = int(parts[3])
        except (IndexError, ValueError):
            return self.error(404, "PID does not exist.")
        d = self.find(did, tok)
        if not d:
            return
        if len(parts) == 4 and method == "GET":
            return self.send_json(200, self.dep_json(d))
        if len(parts) == 4 and method == "PUT":
            if d["submitted"]:
                return self.error(400, "Validation error.", [{"field": "metadata", "messages": ["Deposition is published."]}])
            meta = (json.loads(body or b"{}") or {}).get("metadata") or {}
            errors = self.validate(meta)
            if errors:
                return self.error(400, "Validation error.", errors)
            d["metadata"] = meta
            return self.send_json(200, self.dep_json(d))
        if len(parts) == 6 and parts[4] == "files" and method == "DELETE":
            if d["submitted"]:
                return self.error(403, "You don't have the permission to access the requested resource.")
            for k, f in list(d["files"].items()):
                if f["id"] == parts[5]:
                    del d["files"][k]
                    return self.send_json(204, None)
            return self.error(404, "File does not exist.")
        if len(parts) == 6 and parts[4] == "actions" and method == "POST":
            if parts[5] == "publish":
                if d["submitted"]:
                    return self.error(404, "PID does not exist.")  # what Zenodo answers a repeat
                errors = self.validate(d["metadata"])
                if not d["files"]:
                    errors.append({"field": "files", "messages": ["Missing uploaded files."]})
                if errors:
                    return self.error(400, "Validation error.", errors)
                d["submitted"] = True
                d["doi"] = "10.5072/zenodo.%d" % d["id"]
                d["publish_count"] += 1
                return self.send_json(202, self.dep_json(d))
            if parts[5] == "newversion":
                if not d["submitted"]:
                    return self.error(400, "Validation error.", [{"field": "id", "messages": ["Deposition is not published."]}])
                draft = self.open_draft(d["conceptrecid"])
                if not draft:
                    meta = {k: v for k, v in d["metadata"].items() if k not in ("doi", "prereserve_doi")}
                    self.new_dep(tok, d["conceptrecid"], d["files"], meta, new_version=True)
                return self.send_json(201, self.dep_json(d))
        return self.error(405, "The method is not allowed for the requested URL.")

    @staticmethod
    def validate(meta):
        errors = []
        for f in ("title", "upload_type", "description", "creators", "publication_date"):
            if not meta.get(f):
                errors.append({"field": "metadata." + f, "messages": ["Missing data for required field."]})
        if meta.get("upload_type") and meta["upload_type"] not in UPLOAD_TYPES:
            errors.append({"field": "metadata.upload_type", "messages": ["Invalid upload type."]})
        for i, c in enumerate(meta.get("creators") or []):
            if not isinstance(c, dict) or not c.get("name"):
                errors.append({"field": "metadata.creators.%d.name" % i, "messages": ["Name is required."]})
        if meta.get("license") and meta["license"] not in LICENSES:
            errors.append({"field": "metadata.license", "messages": ["Invalid license provided."]})
        for i, r in enumerate(meta.get("related_identifiers") or []):
            if not r.get("identifier") or not r.get("relation"):
                errors.append({"field": "metadata.related_identifiers.%d" % i, "messages": ["Invalid."]})
        return errors

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")


def main():
    port = int(sys.argv[1])
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.tokens = set(sys.argv[2:] or ["test-token", "other-token"])
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
