#!/usr/bin/python3
"""ref_shapes.py: does a file the backoffice publishes load into the reference model its
readers use?  The ecosystem's clients read our files with pydantic models: bioimageio.spec
(the validation summary, the id map) and the bioimage-io/collection backoffice
(collection.json, all_versions.json, versions.json, info.json, draft.json, log.json,
chat.json, test_summary.yaml).  Each check below mirrors one reference class, written by
hand from its source, and names it in a comment:

  SPEC = bioimage-io/spec-bioimage-io at tag v0.5.7.2 (src/bioimageio/spec/...)
  COLL = bioimage-io/collection at commit 4eb97f223 (bioimageio_collection_backoffice/...)

Most checks are what the reference model refuses on reading (pydantic raises). A few are
rules of what the reference writes, which its readers may rely on although the model would
accept more; their messages say "the reference writes/sets ...": collection.json leaves out
fields at their default None (exclude_defaults), a nickname only when it differs from the id,
download_count "?" rather than 0, url_root a folder URL ending in "/", root_url the folder of
rdf_source, no draft status in collection.json, test_summary tools named <tool>_<version>.

How a pydantic field is read here:
  `x: T`                  required, not null       -> req(T)
  `x: Optional[T]`        required, may be null    -> req_or_null(T)
  `x: T = d`              may be absent, not null  -> dflt(T)
  `x: Optional[T] = None` may be absent or null    -> none_dflt(T)
  extra="forbid" refuses unknown keys; "ignore" and "allow" accept them (COLL's Node is
  extra="ignore"; SPEC's Node is extra="forbid"; a plain pydantic BaseModel ignores).
Types are the JSON types the reference writes (a string, an integer, a number), slightly
stricter than pydantic's lax mode, which would also turn "3" into 3: a file that passes here
is read by the reference and written back the same.

Usage:  ref_shapes.py KIND FILE...   prints `FILE: path.to.field: what` per violation and
                                     exits 1 if there is any, 0 otherwise (2: usage,
                                     3: the checker itself failed)
        ref_shapes.py --self-test    real reference files from ../shared/corpus must pass,
                                     mutated copies (one violation each) must fail
        ref_shapes.py --kinds        lists the kinds with the class each one mirrors
Only the standard library and PyYAML (python3-yaml).
"""

import copy
import datetime as dt
import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

import yaml


# --------------------------------------------------------------------------------------
# Violations and paths
# --------------------------------------------------------------------------------------

class Out:
    """Collects (path, message); a path is a tuple of keys (str) and indices (int)."""

    def __init__(self, omit_defaults=False):
        self.v = []
        # COLL remote_collection.generate_collection_json writes collection.json with
        # model_dump(exclude_defaults=True): a field at its default None is left out
        self.omit_defaults = omit_defaults

    def add(self, path, msg):
        self.v.append((tuple(path), msg))


IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def fmt_path(path):
    s = ""
    for seg in path:
        if isinstance(seg, int):
            s += "[%d]" % seg
        elif IDENT.match(seg):
            s += ("." if s else "") + seg
        else:
            s += "[%s]" % json.dumps(seg, ensure_ascii=False)
    return s or "<root>"


def show(v):
    s = json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= 60 else s[:57] + "..."


# --------------------------------------------------------------------------------------
# Scalar types
# --------------------------------------------------------------------------------------

def t_any(v, p, out):
    pass


def t_str(v, p, out):
    if not isinstance(v, str):
        out.add(p, "expected a string, got %s" % show(v))


def t_int(v, p, out):
    if isinstance(v, bool) or not isinstance(v, int):
        out.add(p, "expected an integer, got %s" % show(v))


def t_bool(v, p, out):
    if not isinstance(v, bool):
        out.add(p, "expected true or false, got %s" % show(v))


def t_float(ge=None, le=None):
    def check(v, p, out):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            out.add(p, "expected a finite number, got %s" % show(v))
        elif (ge is not None and v < ge) or (le is not None and v > le):
            out.add(p, "%s is outside [%s, %s]" % (show(v), ge, le))
    return check


def t_lit(*values):
    """typing.Literal: equal and of the same JSON type (so true is not 1)."""
    def check(v, p, out):
        if not any(type(v) is type(x) and v == x for x in values):
            out.add(p, "%s is not one of %s" % (show(v), ", ".join(show(x) for x in values)))
    return check


def t_pattern(rx, what):
    r = re.compile(rx)

    def check(v, p, out):
        if not isinstance(v, str):
            out.add(p, "expected a string (%s), got %s" % (what, show(v)))
        elif not r.search(v):
            out.add(p, "%s is not %s" % (show(v), what))
    return check


# pydantic datetime from JSON: an ISO 8601 string YYYY-MM-DD[T]HH:MM[:SS[.ffffff]][Z or
# ±HH[:]MM] (date alone in lax mode; T, t, _ or space between), or a number (Unix time).
# A YAML timestamp arrives from PyYAML as a datetime already.
DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt _](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
                      r"(?:[Zz]|[+-](\d{2}):?(\d{2}))?)?$")


def t_datetime(v, p, out):
    if isinstance(v, (dt.datetime, dt.date)):
        return
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return
    m = DATETIME.match(v) if isinstance(v, str) else None
    ok = bool(m)
    if m:
        try:
            y, mo, d, hh, mi, ss = (int(g or 0) for g in m.groups()[:6])
            dt.datetime(y, mo, d, hh, mi, ss)
            ok = m.group(8) is None or (int(m.group(8)) < 24 and int(m.group(9)) < 60)
        except ValueError:
            ok = False
    if not ok:
        out.add(p, "%s is not a datetime (ISO 8601, as pydantic reads it)" % show(v))


def t_httpurl(v, p, out):
    """pydantic.HttpUrl: scheme http or https, a host, at most 2083 characters."""
    if not isinstance(v, str):
        out.add(p, "expected an http(s) URL string, got %s" % show(v))
        return
    try:
        u = urlsplit(v.strip())
        host = u.hostname
    except ValueError:
        u, host = None, None
    if len(v) > 2083 or not u or u.scheme.lower() not in ("http", "https") or not host:
        out.add(p, "%s is not an absolute http(s) URL (pydantic.HttpUrl)" % show(v))


def t_spec_sha256(v, p, out):
    # SPEC _internal/io_basics.py Sha256: str, strip_whitespace, to_lower, length 64
    if not isinstance(v, str) or len(v.strip()) != 64:
        out.add(p, "%s is not a Sha256 (a string of 64 characters)" % show(v))


# SPEC _internal/version_type.py Version: RootModel[Union[str, int, float]] parsed by
# packaging.version.Version; this is packaging's VERSION_PATTERN (PEP 440, appendix B).
PEP440 = re.compile(r"""^\s*v?(?:(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*
    (?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?
    (?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?
    (?:[-_.]?dev[-_.]?[0-9]*)?)(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$""", re.VERBOSE | re.IGNORECASE)


def t_version(v, p, out):
    if isinstance(v, bool) or not isinstance(v, (str, int, float)) or not PEP440.match(str(v)):
        out.add(p, "%s is not a Version (PEP 440, packaging.version)" % show(v))


def corpus_dir():
    return os.environ.get("BO_CORPUS_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "corpus")


_LICENSES = None


def t_license(v, p, out):
    """SPEC _internal/license_id.py LicenseId: one of the SPDX ids that are not deprecated
    (SPEC generates the Literal from the SPDX list; the corpus holds that list)."""
    global _LICENSES
    if _LICENSES is None:
        path = os.path.join(corpus_dir(), "collection", "schemas", "spdx_licenses.json")
        try:
            with open(path, encoding="utf-8") as f:
                _LICENSES = {x["licenseId"] for x in json.load(f)["licenses"] if not x["isDeprecatedLicenseId"]}
        except (OSError, ValueError, KeyError) as e:
            _LICENSES = set()
            out.add(p, "cannot check LicenseId: no SPDX list (%s)" % e)
            return
    if v not in _LICENSES:
        out.add(p, "%s is not an SPDX license id (LicenseId)" % show(v))


# SPEC _internal/constants.py DOI_REGEX (used by _internal/types.py Doi)
t_doi = t_pattern(r"^10\.[0-9]{4}.+$", "a DOI (10.NNNN...)")


def t_orcid(v, p, out):
    # SPEC _internal/types.py _validate_orcid_id: 4 groups of 4, ISO 7064 11,2 checksum
    ok = isinstance(v, str) and len(v) == 19 and all(v[i] == "-" for i in (4, 9, 14))
    if ok:
        check = 0
        for n in v[:4] + v[5:9] + v[10:14] + v[15:]:
            if not (n.isdigit() or n == "X"):
                ok = False
                break
            check = (2 * check + (10 if n == "X" else int(n))) % 11
        ok = ok and check == 1
    if not ok:
        out.add(p, "%s is not an ORCID iD" % show(v))


# pydantic EmailStr (email-validator); only its outline here: local@domain.tld
t_email = t_pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address")


# --------------------------------------------------------------------------------------
# Containers and models
# --------------------------------------------------------------------------------------

def t_list(item, what="a list"):
    """Sequence/List/Set of item: a JSON array (pydantic refuses a string or an object)."""
    def check(v, p, out):
        if not isinstance(v, list):
            out.add(p, "expected %s, got %s" % (what, show(v)))
            return
        for i, x in enumerate(v):
            item(x, p + (i,), out)
    return check


def t_map(val):
    """Mapping[str, val] / Dict[str, val]: a JSON object."""
    def check(v, p, out):
        if not isinstance(v, dict):
            out.add(p, "expected an object (a mapping), got %s" % show(v))
            return
        for k, x in v.items():
            if not isinstance(k, str):
                out.add(p, "key %s is not a string" % show(k))
            val(x, p + (str(k),), out)
    return check


def t_union(desc, *alts):
    def check(v, p, out):
        for a in alts:
            o = Out(out.omit_defaults)
            a(v, p, o)
            if not o.v:
                return
        out.add(p, "%s is not %s" % (show(v), desc))
    return check


class F:
    def __init__(self, check, required, nullable, default_none=False):
        self.check, self.required, self.nullable, self.default_none = check, required, nullable, default_none


def req(c):
    return F(c, True, False)


def req_or_null(c):
    return F(c, True, True)


def dflt(c):
    return F(c, False, False)


def none_dflt(c):
    return F(c, False, True, default_none=True)


def model(cls, extra, fields, post=None):
    """A pydantic model: cls names it in messages; extra is allow | ignore | forbid."""
    def check(v, p, out):
        if not isinstance(v, dict):
            out.add(p, "expected an object (%s), got %s" % (cls, show(v)))
            return
        for name, f in fields.items():
            q = p + (name,)
            if name not in v:
                if f.required:
                    out.add(q, "missing (required by %s)" % cls)
            elif v[name] is None:
                if not f.nullable:
                    out.add(q, "null is not allowed (%s.%s is not Optional)" % (cls, name))
                elif f.default_none and out.omit_defaults:
                    out.add(q, "null where the reference leaves the field out (%s.%s defaults to None; "
                               "written with exclude_defaults=True)" % (cls, name))
            else:
                f.check(v[name], q, out)
        if extra == "forbid":
            for k in v:
                if k not in fields:
                    out.add(p + (str(k),), "extra key not allowed (%s forbids extra keys)" % cls)
        if post:
            post(v, p, out)
    return check


def lazy(get):
    """A reference to a checker defined further down (mutually recursive unions)."""
    def check(v, p, out):
        get()(v, p, out)
    return check


# --------------------------------------------------------------------------------------
# SPEC: src/bioimageio/spec/summary.py and _internal/
# --------------------------------------------------------------------------------------

# summary.py: Loc = Tuple[Union[int, str], ...]
t_loc = t_list(t_union("an int or a string", t_int, t_str), "a list of keys and indices (Loc)")

# summary.py ValidationEntry / ErrorEntry (a plain BaseModel: extra keys ignored)
error_entry = model("ErrorEntry", "ignore", {
    "loc": req(t_loc), "msg": req(t_str), "type": req(t_str),
    "with_traceback": dflt(t_bool), "traceback_md": dflt(t_str), "traceback_html": dflt(t_str),
})

# summary.py WarningEntry; _internal/warning_levels.py WarningSeverity = Literal[20, 30, 35]
warning_entry = model("WarningEntry", "ignore", {
    "loc": req(t_loc), "msg": req(t_str), "type": req(t_str),
    "severity": dflt(t_lit(20, 30, 35)),
})

# _internal/validation_context.py ValidationContextSummary (ValidationContextBase fields plus
# root), __pydantic_config__ = ConfigDict(extra="forbid"); root is RootHttpUrl | Path |
# "in-memory", which any string satisfies
validation_context_summary = model("ValidationContextSummary", "forbid", {
    "file_name": none_dflt(t_str), "original_source_name": none_dflt(t_str),
    "perform_io_checks": dflt(t_bool),
    "known_files": dflt(t_map(lambda v, p, out: None if v is None else t_spec_sha256(v, p, out))),
    "update_hashes": dflt(t_bool), "root": dflt(t_str),
})

# conda_env.py PipDeps and CondaEnv (plain BaseModels)
pip_deps = model("PipDeps", "ignore", {"pip": dflt(t_list(t_str))})
conda_env = model("CondaEnv", "ignore", {
    "name": none_dflt(t_str), "channels": dflt(t_list(t_str)),
    "dependencies": dflt(t_list(t_union("a string or PipDeps", t_str, pip_deps))),
})


def t_installed_package(v, p, out):
    """summary.py InstalledPackage(NamedTuple): name, version, build="", channel="".
    It is written as a JSON array [name, version, build, channel]; ValidationSummary's
    _convert_old_env also reads the old {name, version[, build, channel]} objects."""
    if isinstance(v, dict) and "name" in v and "version" in v:
        items = [v["name"], v["version"], v.get("build", ""), v.get("channel", "")]
    elif isinstance(v, list) and 2 <= len(v) <= 4:
        items = v
    else:
        out.add(p, "%s is not an InstalledPackage ([name, version, build, channel])" % show(v))
        return
    for i, x in enumerate(items):
        t_str(x, p + (i,), out)


# summary.py ValidationDetail(extra="allow"); _load_legacy renames conda_compare to
# saved_conda_compare, so either is an Optional[str]
validation_detail = model("ValidationDetail", "allow", {
    "name": req(t_str), "status": req(t_lit("passed", "failed")),
    "loc": dflt(t_loc), "errors": dflt(t_list(error_entry)), "warnings": dflt(t_list(warning_entry)),
    "context": none_dflt(validation_context_summary), "recommended_env": none_dflt(conda_env),
    "saved_conda_compare": none_dflt(t_str), "conda_compare": none_dflt(t_str),
})

# summary.py ValidationSummary(extra="allow"); env is Set[InstalledPackage], a JSON array
# (an object is refused: _convert_old_env converts only lists)
validation_summary = model("ValidationSummary", "allow", {
    "name": req(t_str), "source_name": req(t_str), "id": none_dflt(t_str),
    "type": req(t_str), "format_version": req(t_str),
    "status": req(t_lit("passed", "valid-format", "failed")),
    "metadata_completeness": dflt(t_float(0, 1)),
    "details": req(t_list(validation_detail)),
    "env": dflt(t_list(t_installed_package, "a list of InstalledPackage (Set)")),
    "saved_conda_list": none_dflt(t_str),
})

# _internal/io.py LightHttpFileDescr(Node): source pydantic.HttpUrl, sha256 Sha256; Node is
# extra="forbid" (_internal/node.py), so a value is exactly {source, sha256}.
light_http_file_descr = model("LightHttpFileDescr", "forbid", {
    "source": req(t_httpurl), "sha256": req(t_spec_sha256),
})
# _internal/io_utils.py _IdMap = RootModel[Dict[str, LightHttpFileDescr]] (get_id_map)
id_map = t_map(light_http_file_descr)


def _no_slash(v, p, out):
    t_str(v, p, out)
    if isinstance(v, str) and ("/" in v or "\\" in v):
        out.add(p, "%s has a slash (Author.name: _has_no_slash)" % show(v))


# generic/v0_3.py Author(v0_2.Author): _Person (affiliation, email EmailStr, orcid OrcidId),
# name without slashes, github_user; SPEC Node, extra="forbid"
spec_author = model("spec Author (generic v0_3)", "forbid", {
    "name": req(_no_slash), "affiliation": none_dflt(t_str), "email": none_dflt(t_email),
    "orcid": none_dflt(t_orcid), "github_user": none_dflt(t_str),
})


def _doi_or_url(v, p, out):
    if not v.get("doi") and not v.get("url"):
        out.add(p, "neither doi nor url (CiteEntry._check_doi_or_url)")


# generic/v0_3.py CiteEntry(Node): text, doi, url; one of doi/url
cite_entry = model("CiteEntry", "forbid", {
    "text": req(t_str), "doi": none_dflt(t_doi), "url": none_dflt(t_httpurl),
}, post=_doi_or_url)


# --------------------------------------------------------------------------------------
# COLL: db_structure/version_info.py (draft status), log.py, chat.py, compatibility.py
# --------------------------------------------------------------------------------------

def _status_model(cls, name, step, description_default):
    """A _DraftStatusBase subclass: _StatusBase (timestamp, run_url, icon) plus description,
    num_steps=6, and its own name and step literals; _validate_num_steps: num_steps >= step."""
    def steps(v, p, out):
        n = v.get("num_steps", 6)
        if isinstance(n, int) and not isinstance(n, bool) and n < step:
            out.add(p + ("num_steps",), "%d < step %d (%s._validate_num_steps)" % (n, step, cls))
    return model(cls, "ignore", {
        "timestamp": dflt(t_datetime), "run_url": none_dflt(t_str), "icon": dflt(t_str),
        "description": dflt(t_str) if description_default else req(t_str),
        "num_steps": dflt(t_int), "name": dflt(t_lit(name)), "step": dflt(t_lit(step)),
    }, post=steps)


DRAFT_STATUSES = {
    "unpacking": _status_model("UnpackingStatus", "unpacking", 1, False),
    "unpacked": _status_model("UnpackedStatus", "unpacked", 2, True),
    "testing": _status_model("TestingStatus", "testing", 3, False),
    "awaiting review": _status_model("AwaitingReviewStatus", "awaiting review", 4, True),
    "changes requested": _status_model("ChangesRequestedStatus", "changes requested", 5, False),
    "accepted": _status_model("AcceptedStatus", "accepted", 5, True),
    "published": _status_model("PublishedDraftStatus", "published", 6, True),
}


def t_tagged(union, cases):
    """An Annotated[Union[...], pydantic.Discriminator("name")]: `name` picks the class."""
    def check(v, p, out):
        if not isinstance(v, dict):
            out.add(p, "expected an object (%s), got %s" % (union, show(v)))
        elif "name" not in v:
            out.add(p + ("name",), "missing: %s is told apart by its `name` (Discriminator)" % union)
        elif not isinstance(v["name"], str) or v["name"] not in cases:
            out.add(p + ("name",), "%s is not one of %s (%s)" % (show(v["name"]), ", ".join(cases), union))
        else:
            cases[v["name"]](v, p, out)
    return check


# DraftStatus = Annotated[Union[Unpacking…PublishedDraft], Discriminator("name")]
draft_status = t_tagged("DraftStatus", DRAFT_STATUSES)

# ErrorStatus(_StatusBase): name "error", step 0, message, traceback: List[str],
# during: Optional[DraftStatus] (no default: the key is required)
error_status = model("ErrorStatus", "ignore", {
    "timestamp": dflt(t_datetime), "run_url": none_dflt(t_str), "icon": dflt(t_str),
    "name": dflt(t_lit("error")), "step": dflt(t_lit(0)), "message": req(t_str),
    "traceback": req(t_list(t_str)), "during": req_or_null(draft_status),
})

# DraftInfo.status: Annotated[Union[DraftStatus, ErrorStatus], Discriminator("name")]
any_status = t_tagged("DraftStatus | ErrorStatus", dict(DRAFT_STATUSES, error=error_status))

# version_info.py DraftInfo: <concept_id>/draft/draft.json
draft_info = model("DraftInfo", "ignore", {"status": none_dflt(any_status), "created": dflt(t_datetime)})

t_download_count = t_union("'?' or an integer (Union[int, Literal['?']])", t_lit("?"), t_int)

# version_info.py RecordInfo: <concept_id>/<version>/info.json
record_info = model("RecordInfo", "ignore", {
    "created": dflt(t_datetime), "concept_doi": none_dflt(t_str), "doi": none_dflt(t_str),
    "download_count": dflt(t_download_count),
})

# version_info.py VersionInfo, VersionsInfo: <concept_id>/versions.json
version_info = model("VersionInfo", "ignore", {
    "created": dflt(t_datetime), "doi": none_dflt(t_str), "v": req(t_str),
})
versions_info = model("VersionsInfo", "ignore", {
    "concept_doi": none_dflt(t_str), "versions": dflt(t_list(version_info)),
})

# log.py LogEntry, Log (log_version: str = "0.1.0"): <concept_id>/draft/log.json
log_entry = model("LogEntry", "ignore", {
    "message": dflt(t_str), "details": none_dflt(t_any), "details_formatted": none_dflt(t_str),
    "timestamp": dflt(t_datetime), "run_url": none_dflt(t_str),
})
log = model("Log", "ignore", {"log_version": dflt(t_str), "entries": dflt(t_list(log_entry))})

# chat.py Message, Chat: <concept_id>/draft/chat.json
message = model("Message", "ignore", {"author": req(t_str), "text": req(t_str), "timestamp": dflt(t_datetime)})
chat = model("Chat", "ignore", {"messages": dflt(t_list(message))})

# compatibility.py TestSummaryEntry: every field without a default, so every key is required
test_summary_entry = model("TestSummaryEntry", "ignore", {
    "error": req_or_null(t_str), "name": req(t_str), "status": req(t_lit("passed", "failed")),
    "traceback": req_or_null(t_list(t_str)), "warnings": req_or_null(t_map(t_any)),
})

# compatibility.py TestSummary: <concept_id>/<version>/test_summary.yaml (as read)
test_summary = model("TestSummary", "ignore", {
    "status": req(t_lit("passed", "failed")), "tests": req(t_map(t_list(test_summary_entry))),
})

# As COLL writes it (remote_collection.create_collection_entries): the keys of `tests` are
# CompatibilityReport.tool values, Field(pattern=r"^[^_]+_[^_]+$"): "<tool>_<version>".
TOOL = re.compile(r"^[^_]+_[^_]+$")


def _tool_keys(v, p, out):
    if isinstance(v.get("tests"), dict):
        for k in v["tests"]:
            if not TOOL.match(str(k)):
                out.add(p + ("tests", str(k)), "not a tool name <tool>_<version> (CompatibilityReport.tool "
                                                "pattern ^[^_]+_[^_]+$, the key create_collection_entries writes)")


test_summary_written = model("TestSummary", "ignore", {
    "status": req(t_lit("passed", "failed")), "tests": req(t_map(t_list(test_summary_entry))),
}, post=_tool_keys)


# --------------------------------------------------------------------------------------
# COLL: collection_json.py and collection_config/collection_json_template.py
# --------------------------------------------------------------------------------------

# collection_json.py Author, Badge, TrainingData, Uploader (COLL Node: extra="ignore")
coll_author = model("Author (collection_json)", "ignore", {
    "name": req(t_str), "affiliation": none_dflt(t_str), "email": none_dflt(t_str), "orcid": none_dflt(t_str),
})
badge = model("Badge", "ignore", {"icon": req(t_httpurl), "label": req(t_str), "url": req(t_httpurl)})
training_data = model("TrainingData", "ignore", {"id": req(t_str)})
uploader = model("Uploader", "ignore", {"name": none_dflt(t_str), "email": req(t_str)})


def _entry_rules(draft):
    def post(v, p, out):
        # create_collection_entries: `if nickname == concept: nickname = None`
        if v.get("nickname") is not None and v.get("nickname") == v.get("id"):
            out.add(p + ("nickname",), "equals the id; the reference sets nickname only when it differs "
                                       "(legacy config.bioimageio.nickname)")
        # download_count = "?" if legacy_download_count == 0 else legacy_download_count
        n = v.get("download_count")
        if isinstance(n, int) and not isinstance(n, bool) and n < 1:
            out.add(p + ("download_count",), "%d: the reference writes \"?\" when there is no count "
                                             "(create_collection_entries)" % n)
        # root_url = str(HttpUrl(rdf_url).parent), and rdf_url is <root_url>/rdf.yaml
        ru, src = v.get("root_url"), v.get("rdf_source")
        if isinstance(ru, str) and isinstance(src, str) and src != ru.rstrip("/") + "/rdf.yaml":
            out.add(p + ("root_url",), "%s is not the folder of rdf_source %s (root_url = rdf_url.parent)"
                    % (show(ru), show(src)))
        # CollectionEntry.status: "status of the draft (for collection_draft.json only)"
        if not draft and v.get("status") is not None:
            out.add(p + ("status",), "a status in collection.json (CollectionEntry.status is for "
                                     "collection_draft.json only)")
    return post


def collection_entry(draft):
    # collection_json.py CollectionEntry
    return model("CollectionEntry", "ignore", {
        "authors": req(t_list(coll_author)), "uploader": req(uploader), "badges": req(t_list(badge)),
        "concept_doi": req_or_null(t_str), "covers": req(t_list(t_httpurl)), "created": req(t_datetime),
        "description": req(t_str), "download_count": req(t_download_count),
        "download_url": none_dflt(t_httpurl), "icon": none_dflt(t_httpurl), "id": req(t_str),
        "license": req_or_null(t_str), "links": req(t_list(t_str)), "name": req(t_str),
        "nickname_icon": none_dflt(t_str), "nickname": none_dflt(t_str), "rdf_source": req(t_httpurl),
        "root_url": req(t_str), "tags": dflt(t_list(t_str)), "training_data": none_dflt(training_data),
        "type": req(t_lit("application", "model", "notebook", "dataset")),
        "source": none_dflt(t_str), "status": none_dflt(any_status),
    }, post=_entry_rules(draft))


# collection_json_template.py Partner
partner = model("Partner", "ignore", {
    "background_image": req(t_str), "default_type": req(t_str), "explore_button_text": req(t_str),
    "icon": req(t_httpurl), "id": req(t_str), "logo": req(t_httpurl), "name": req(t_str),
    "resource_types": req(t_list(t_str)), "splash_feature_list": req(t_list(t_str)),
    "splash_subtitle": req_or_null(t_str), "splash_title": req(t_str),
})


def _url_root_folder(v, p, out):
    # generate_collection_json: url_root=AnyUrl(client.get_file_url(self.folder)), folder ""
    # and get_file_url(path) = f"https://{host}/{bucket}/{prefix}/{path}": a folder URL
    u = v.get("url_root")
    if isinstance(u, str) and not u.endswith("/"):
        out.add(p + ("url_root",), "%s has no trailing slash (the reference writes the folder URL "
                                   "get_file_url(\"\"), which ends in /)" % show(u))


# collection_json.py CollectionWebsiteConfig(CollectionWebsiteConfigTemplate)
website_config = model("CollectionWebsiteConfig", "ignore", {
    "background_image": req(t_str), "default_type": req(t_str), "explore_button_text": req(t_str),
    "partners": req(t_list(partner)), "splash_feature_list": req(t_list(t_str)),
    "splash_subtitle": req(t_str), "splash_title": req(t_str),
    "n_resource_versions": req(t_map(t_int)), "resource_types": req(t_list(t_str)),
    "n_resources": req(t_map(t_int)), "url_root": req(t_httpurl),
}, post=_url_root_folder)


def collection_json(draft):
    # collection_json.py CollectionJson(CollectionJsonTemplate)
    return model("CollectionJson", "ignore", {
        "authors": req(t_list(spec_author)), "cite": req(t_list(cite_entry)), "config": req(website_config),
        "description": req(t_str), "documentation": req(t_httpurl), "format_version": req(t_version),
        "git_repo": req(t_httpurl), "icon": req(t_httpurl), "license": req(t_license), "name": req(t_str),
        "tags": req(t_list(t_str)), "type": req(t_lit("collection")), "version": req(t_version),
        "collection": req(t_list(collection_entry(draft))), "created": dflt(t_datetime),
    })


# collection_json.py ConceptVersion, ConceptSummary, AllVersions: all_versions[_draft].json
concept_version = model("ConceptVersion", "ignore", {
    "v": req(t_str), "created": req(t_datetime), "doi": req_or_null(t_str),
    "source": req(t_str), "sha256": req(t_str),
})
concept_summary = model("ConceptSummary", "ignore", {
    "concept": req(t_str), "type": req(t_str), "concept_doi": req_or_null(t_str),
    "versions": req(t_list(concept_version)),
})
all_versions = model("AllVersions", "ignore", {"entries": req(t_list(concept_summary))})


# --------------------------------------------------------------------------------------
# Kinds
# --------------------------------------------------------------------------------------

# kind -> (checker, omit_defaults, the class it mirrors)
KINDS = {
    "validation-summary": (validation_summary, False, "SPEC summary.py ValidationSummary"),
    "id-map": (id_map, False, "SPEC _internal/io_utils.py _IdMap = Dict[str, LightHttpFileDescr]"),
    "collection": (collection_json(False), True,
                   "COLL collection_json.py CollectionJson (as generate_collection_json writes "
                   "collection.json: exclude_defaults=True)"),
    "collection-draft": (collection_json(True), False,
                         "COLL collection_json.py CollectionJson (collection_draft.json, entries with status)"),
    "all-versions": (all_versions, False, "COLL collection_json.py AllVersions"),
    "versions": (versions_info, False, "COLL db_structure/version_info.py VersionsInfo"),
    "info-json": (record_info, False, "COLL db_structure/version_info.py RecordInfo"),
    "draft-json": (draft_info, False, "COLL db_structure/version_info.py DraftInfo"),
    "log-json": (log, False, "COLL db_structure/log.py Log"),
    "chat-json": (chat, False, "COLL db_structure/chat.py Chat"),
    "test-summary": (test_summary, False, "COLL db_structure/compatibility.py TestSummary (as read)"),
    "test-summary-written": (test_summary_written, False,
                             "COLL db_structure/compatibility.py TestSummary with CompatibilityReport.tool "
                             "keys (as create_collection_entries writes it)"),
}


def check_obj(kind, obj):
    fn, omit, _ = KINDS[kind]
    out = Out(omit_defaults=omit)
    fn(obj, (), out)
    return out.v


def _no_constant(name):
    raise ValueError("%s is not JSON (the reference refuses it)" % name)


def load(path):
    """The parsed file and a list of load-time violations (duplicate keys)."""
    problems = []

    def pairs(items):
        d = {}
        for k, v in items:
            if k in d:
                problems.append(((), "duplicate key %s" % show(k)))
            d[k] = v
        return d
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    if path.endswith((".yaml", ".yml")):
        return yaml.safe_load(text), problems
    return json.loads(text, object_pairs_hook=pairs, parse_constant=_no_constant), problems


def check_file(kind, path):
    try:
        obj, problems = load(path)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as e:
        return [((), "cannot be read: %s" % str(e).splitlines()[0])]
    return problems + check_obj(kind, obj)


# --------------------------------------------------------------------------------------
# Self-test: real reference files must pass, one-violation mutations must fail
# --------------------------------------------------------------------------------------

# Legacy test summaries of collection-bioimage-io that the TestSummary model does not read:
# their partner entries (deepimagej, ilastik) were written as {name, status, reason[, error]}
# without `traceback`/`warnings`, and a few bioimageio entries carry `error` as an object.
# They predate COLL's TestSummary, so they are real negatives here, not positives.
LEGACY_NOT_TEST_SUMMARY = {
    "deepimagej__DeepSTORMZeroCostDL4Mic__latest", "deepimagej__MU-Lux_CTC_PhC-C2DL-PSC__latest",
    "deepimagej__Mt3VirtualStaining__latest", "deepimagej__SkinLesionClassification__latest",
    "deepimagej__WidefieldDapiSuperResolution__latest", "deepimagej__WidefieldTxredSuperResolution__latest",
    "ilastik__stradist_dsb_training_data__latest", "zero__Notebook_StarDist_2D_ZeroCostDL4Mic_DeepImageJ__latest",
    "zero__Notebook_U-Net_2D_ZeroCostDL4Mic_DeepImageJ__latest",
}

SHA = "a5b1e009014c8b940efd102d285c4570a77012945a6edb8d7c217a57acfb668e"
URL = "https://uk1s3.embassy.ebi.ac.uk/public-datasets/bioimage.io/"


def synthetic():
    """One file per kind, shaped as the reference writes it (model_dump(mode="json"))."""
    status = {"timestamp": "2025-01-17T13:40:12.000Z", "run_url": None, "icon": "🧐",
              "description": "Thank you for your contribution!", "num_steps": 6,
              "name": "awaiting review", "step": 4}
    entry = {"authors": [{"name": "Constantin Pape", "affiliation": "EMBL Heidelberg"}],
             "uploader": {"email": "bioimageiobot@gmail.com"},
             "badges": [{"icon": "https://img.shields.io/badge/x-y-z", "label": "x", "url": "https://bioimage.io"}],
             "concept_doi": None, "covers": [URL + "affable-shark/1/files/cover.png"],
             "created": "2025-01-17T13:40:12.000Z", "description": "Nucleus segmentation",
             "download_count": "?", "id": "affable-shark", "license": "CC-BY-4.0", "links": [],
             "name": "NucleiSegmentationBoundaryModel", "nickname_icon": "🦈",
             "rdf_source": URL + "affable-shark/1/files/rdf.yaml", "root_url": URL + "affable-shark/1/files",
             "tags": ["nuclei"], "type": "model"}
    partner = {"background_image": "static/img/zoo-background.svg", "default_type": "model",
               "explore_button_text": "Start Exploring", "icon": "https://bioimage.io/icon.svg", "id": "bioimageio",
               "logo": "https://bioimage.io/icon.svg", "name": "BioImage.IO", "resource_types": ["model"],
               "splash_feature_list": ["a"], "splash_subtitle": None, "splash_title": "BioImage Model Zoo",
               "tags": []}
    coll = {"authors": [{"name": "BioImgae.IO Team"}], "cite": [{"text": "cite", "url": "https://bioimage.io"}],
            "config": {"background_image": "static/img/zoo-background.svg", "default_type": "model",
                       "explore_button_text": "Start Exploring", "partners": [partner],
                       "splash_feature_list": ["a"], "splash_subtitle": "Advanced AI models in one-click",
                       "splash_title": "BioImage Model Zoo", "n_resource_versions": {"model": 1},
                       "resource_types": ["model"], "n_resources": {"model": 1}, "url_root": URL},
            "description": "bioimage.io collection RDF",
            "documentation": "https://raw.githubusercontent.com/bioimage-io/collection/main/collection_json.md",
            "format_version": "0.3.0", "git_repo": "https://github.com/bioimage-io/collection",
            "icon": "https://bioimage.io/icon.png", "license": "CC0-1.0", "name": "bioimage.io", "tags": [],
            "type": "collection", "version": "0.3.0", "collection": [entry],
            "created": "2025-01-17T13:40:12.000Z"}
    draft_entry = dict(entry, rdf_source=URL + "affable-shark/draft/files/rdf.yaml",
                       root_url=URL + "affable-shark/draft/files", status=status, icon=None, nickname=None,
                       download_url=None, training_data=None, source=None)
    return {
        "id-map": {"affable-shark": {"source": URL + "affable-shark/1/files/rdf.yaml", "sha256": SHA},
                   "affable-shark/1": {"source": URL + "affable-shark/1/files/rdf.yaml", "sha256": SHA}},
        "collection": coll,
        "collection-draft": dict(coll, collection=[draft_entry]),
        "all-versions": {"entries": [{"concept": "affable-shark", "type": "model", "concept_doi": None,
                                      "versions": [{"v": "1", "created": "2025-01-17T13:40:12Z", "doi": None,
                                                    "source": URL + "affable-shark/1/files/rdf.yaml",
                                                    "sha256": SHA}]}]},
        "versions": {"concept_doi": None, "versions": [{"created": "2025-01-17T13:40:12Z", "doi": None, "v": "1"}]},
        "info-json": {"created": "2025-01-17T13:40:12Z", "concept_doi": None, "doi": None, "download_count": "?"},
        "draft-json": {"status": status, "created": "2025-01-17T13:40:12Z"},
        "log-json": {"log_version": "0.1.0",
                     "entries": [{"message": "bioimageio.core 0.7.0 test passed", "details": {"a": 1},
                                  "details_formatted": "ok", "timestamp": "2025-01-17T13:40:12Z", "run_url": None}]},
        "chat-json": {"messages": [{"author": "Jane Doe", "text": "looks good", "timestamp": "2025-01-17T13:40:12Z"}]},
        "test-summary-written": {"status": "passed", "tests": {"bioimageio.core_0.7.0": [
            {"error": None, "name": "compatibility check", "status": "passed", "traceback": None,
             "warnings": None}]}},
    }


def mutations(real_vs, real_ts):
    """(kind, what, base, change, expected path): change mutates a deep copy of base (or
    returns its replacement) so that the checker must report a violation at that path."""
    s = synthetic()
    vs, ts = real_vs, real_ts
    first_tool = next(iter(ts["tests"]))

    def setp(path, value):
        def change(o):
            for k in path[:-1]:
                o = o[k]
            o[path[-1]] = value
        return change

    def delp(path):
        def change(o):
            for k in path[:-1]:
                o = o[k]
            del o[path[-1]]
        return change

    def warn(sev):
        def change(o):
            o["details"][0]["warnings"] = [{"loc": ["tags"], "msg": "m", "type": "t", "severity": sev}]
        return change

    e0 = ("collection", 0)
    return [
        ("id-map", "extra key in an id_map value", s["id-map"], setp(("affable-shark", "type"), "model"),
         ("affable-shark", "type")),
        ("id-map", "id_map value without sha256", s["id-map"], delp(("affable-shark/1", "sha256")),
         ("affable-shark/1", "sha256")),
        ("id-map", "sha256 of 63 characters", s["id-map"], setp(("affable-shark", "sha256"), SHA[:63]),
         ("affable-shark", "sha256")),
        ("id-map", "relative source", s["id-map"], setp(("affable-shark", "source"), "affable-shark/1/files/rdf.yaml"),
         ("affable-shark", "source")),
        ("id-map", "a list instead of the map", s["id-map"], lambda o: list(o.values()), ()),
        ("validation-summary", "warning severity 25", vs, warn(25), ("details", 0, "warnings", 0, "severity")),
        ("validation-summary", "env as a dict", vs, setp(("env",), {"bioimageio.spec": "0.5.7.2"}), ("env",)),
        ("validation-summary", "env entry of five strings", vs, setp(("env",), [["a", "b", "c", "d", "e"]]),
         ("env", 0)),
        ("validation-summary", "detail without name", vs, delp(("details", 0, "name")), ("details", 0, "name")),
        ("validation-summary", "detail status skipped", vs, setp(("details", 0, "status"), "skipped"),
         ("details", 0, "status")),
        ("validation-summary", "status skipped", vs, setp(("status",), "skipped"), ("status",)),
        ("validation-summary", "metadata_completeness 1.5", vs, setp(("metadata_completeness",), 1.5),
         ("metadata_completeness",)),
        ("validation-summary", "extra key in the context", vs, setp(("details", 0, "context", "cache"), "x"),
         ("details", 0, "context", "cache")),
        ("validation-summary", "a float in loc", vs, setp(("details", 0, "loc"), ["inputs", 1.5]),
         ("details", 0, "loc", 1)),
        ("validation-summary", "error entry without msg", vs,
         setp(("details", 0, "errors"), [{"loc": [], "type": "t"}]), ("details", 0, "errors", 0, "msg")),
        ("test-summary", "entry status skipped", ts, setp(("tests", first_tool, 0, "status"), "skipped"),
         ("tests", first_tool, 0, "status")),
        ("test-summary", "entry without name", ts, delp(("tests", first_tool, 0, "name")),
         ("tests", first_tool, 0, "name")),
        ("test-summary", "entry without traceback (Optional, but required)", ts,
         delp(("tests", first_tool, 0, "traceback")), ("tests", first_tool, 0, "traceback")),
        ("test-summary", "tests as a list", ts, setp(("tests",), [{"weight_format": "onnx", "status": "passed"}]),
         ("tests",)),
        ("test-summary", "status skipped", ts, setp(("status",), "skipped"), ("status",)),
        ("test-summary-written", "tool key without version", s["test-summary-written"],
         lambda o: o["tests"].update({"bioimageio": o["tests"].pop("bioimageio.core_0.7.0")}),
         ("tests", "bioimageio")),
        ("collection", "download_count \"x\"", s["collection"], setp(e0 + ("download_count",), "x"),
         e0 + ("download_count",)),
        ("collection", "download_count 0", s["collection"], setp(e0 + ("download_count",), 0),
         e0 + ("download_count",)),
        ("collection", "entry without uploader", s["collection"], delp(e0 + ("uploader",)), e0 + ("uploader",)),
        ("collection", "entry without concept_doi (Optional, but required)", s["collection"],
         delp(e0 + ("concept_doi",)), e0 + ("concept_doi",)),
        ("collection", "icon null in collection.json", s["collection"], setp(e0 + ("icon",), None), e0 + ("icon",)),
        ("collection", "nickname equal to the id", s["collection"], setp(e0 + ("nickname",), "affable-shark"),
         e0 + ("nickname",)),
        ("collection", "a status in collection.json", s["collection"],
         setp(e0 + ("status",), s["draft-json"]["status"]), e0 + ("status",)),
        ("collection", "relative badge icon", s["collection"], setp(e0 + ("badges", 0, "icon"), "icon.png"),
         e0 + ("badges", 0, "icon")),
        ("collection", "entry type collection", s["collection"], setp(e0 + ("type",), "collection"), e0 + ("type",)),
        ("collection", "created \"yesterday\"", s["collection"], setp(e0 + ("created",), "yesterday"),
         e0 + ("created",)),
        ("collection", "root_url not the rdf_source folder", s["collection"],
         setp(e0 + ("root_url",), URL + "affable-shark/1"), e0 + ("root_url",)),
        ("collection", "url_root without trailing slash", s["collection"],
         setp(("config", "url_root"), URL.rstrip("/")), ("config", "url_root")),
        ("collection", "relative documentation", s["collection"], setp(("documentation",), "README.md"),
         ("documentation",)),
        ("collection", "partner without logo", s["collection"], delp(("config", "partners", 0, "logo")),
         ("config", "partners", 0, "logo")),
        ("collection", "license not SPDX", s["collection"], setp(("license",), "not-a-license"), ("license",)),
        ("collection", "cite entry without doi or url", s["collection"], delp(("cite", 0, "url")), ("cite", 0)),
        ("collection", "extra key in the template author", s["collection"],
         setp(("authors", 0, "homepage"), "https://x.org"), ("authors", 0, "homepage")),
        ("collection", "version not PEP 440", s["collection"], setp(("version",), "three"), ("version",)),
        ("collection", "n_resources count as a string", s["collection"],
         setp(("config", "n_resources", "model"), "1"), ("config", "n_resources", "model")),
        ("collection-draft", "unknown status name", s["collection-draft"],
         setp(e0 + ("status", "name"), "reviewing"), e0 + ("status", "name")),
        ("collection-draft", "awaiting review at step 3", s["collection-draft"],
         setp(e0 + ("status", "step"), 3), e0 + ("status", "step")),
        ("collection-draft", "error status without traceback", s["collection-draft"],
         setp(e0 + ("status",), {"name": "error", "message": "m", "during": None}), e0 + ("status", "traceback")),
        ("all-versions", "version without sha256", s["all-versions"], delp(("entries", 0, "versions", 0, "sha256")),
         ("entries", 0, "versions", 0, "sha256")),
        ("all-versions", "version without doi (Optional, but required)", s["all-versions"],
         delp(("entries", 0, "versions", 0, "doi")), ("entries", 0, "versions", 0, "doi")),
        ("all-versions", "no entries", s["all-versions"], delp(("entries",)), ("entries",)),
        ("versions", "v as an integer", s["versions"], setp(("versions", 0, "v"), 1), ("versions", 0, "v")),
        ("versions", "versions as an object", s["versions"], setp(("versions",), {"1": {}}), ("versions",)),
        ("info-json", "download_count \"x\"", s["info-json"], setp(("download_count",), "x"), ("download_count",)),
        ("info-json", "created in month 13", s["info-json"], setp(("created",), "2025-13-01T00:00:00Z"),
         ("created",)),
        ("draft-json", "status without name", s["draft-json"], delp(("status", "name")), ("status", "name")),
        ("draft-json", "num_steps below step", s["draft-json"], setp(("status", "num_steps"), 3),
         ("status", "num_steps")),
        ("draft-json", "testing status without description", s["draft-json"],
         setp(("status",), {"name": "testing", "step": 3}), ("status", "description")),
        ("log-json", "log_version as a number", s["log-json"], setp(("log_version",), 1), ("log_version",)),
        ("log-json", "timestamp \"never\"", s["log-json"], setp(("entries", 0, "timestamp"), "never"),
         ("entries", 0, "timestamp")),
        ("chat-json", "message without author", s["chat-json"], delp(("messages", 0, "author")),
         ("messages", 0, "author")),
        ("chat-json", "text as a number", s["chat-json"], setp(("messages", 0, "text"), 42), ("messages", 0, "text")),
    ]


def self_test():
    corpus = corpus_dir()
    bad = []
    npos = nneg = 0

    def expect_ok(kind, obj, what):
        nonlocal npos
        v = check_obj(kind, obj)
        if v:
            bad.append("%s should pass as %s but: %s" % (what, kind, "; ".join(
                "%s: %s" % (fmt_path(p), m) for p, m in v[:3])))
        npos += 1

    def expect_fail(kind, obj, what, at=None):
        nonlocal nneg
        v = check_obj(kind, obj)
        if not v:
            bad.append("%s passed as %s; it must fail" % (what, kind))
        elif at is not None and tuple(at) not in [p for p, _ in v]:
            bad.append("%s: no violation at %s, only %s" % (what, fmt_path(at), "; ".join(
                "%s: %s" % (fmt_path(p), m) for p, m in v[:3])))
        nneg += 1

    # real ValidationSummary objects: the hypha-era report of bioimage-io/collection holds
    # one per bioimageio.core version, written by bioimageio.spec 0.5.6 to 0.5.10
    report = os.path.join(corpus, "collection", "collection__gh-pages__reports__adorable-blouse__v0__summary.json")
    with open(report, encoding="utf-8") as f:
        real_vs = [t["details"] for t in json.load(f)["tests"]["bioimageio.core"].values()]
    for i, s in enumerate(real_vs):
        expect_ok("validation-summary", s, "adorable-blouse report summary #%d" % i)

    # real test_summary.yaml files of the legacy collection
    legacy = sorted(glob.glob(os.path.join(corpus, "legacy-collection", "*", "test_summary.yaml")))
    if len(legacy) < 100:
        bad.append("only %d legacy test_summary.yaml under %s" % (len(legacy), corpus))
    real_ts = None
    for path in legacy:
        name = os.path.basename(os.path.dirname(path))
        obj, _ = load(path)
        if name in LEGACY_NOT_TEST_SUMMARY:
            expect_fail("test-summary", obj, name)
        else:
            expect_ok("test-summary", obj, name)
            if real_ts is None and obj["status"] == "passed":
                real_ts = obj

    # the Zenodo-era collection.json of collection-bioimage-io predates CollectionEntry:
    # its entries have no uploader, badges, concept_doi or root_url
    with open(os.path.join(corpus, "collection", "collection-bioimage-io__gh-pages__collection.json"),
              encoding="utf-8") as f:
        expect_fail("collection", json.load(f), "Zenodo-era collection.json", ("collection", 0, "uploader"))

    for kind, obj in synthetic().items():
        expect_ok(kind, obj, "synthetic %s" % kind)
    # the one a TestSummary as read and as written share
    expect_ok("test-summary", synthetic()["test-summary-written"], "synthetic test-summary")

    for kind, what, base, change, at in mutations(real_vs[0], real_ts):
        obj = copy.deepcopy(base)
        replaced = change(obj)
        expect_fail(kind, obj if replaced is None else replaced, what, at)

    # the command line: the line format and the exit status
    with tempfile.TemporaryDirectory() as d:
        good, broken = os.path.join(d, "good.json"), os.path.join(d, "bad.json")
        with open(good, "w", encoding="utf-8") as f:
            json.dump(synthetic()["id-map"], f)
        with open(broken, "w", encoding="utf-8") as f:
            f.write('{"a": {"source": "https://x.org/rdf.yaml", "sha256": "%s", "type": "model"}, "a": {}}' % SHA)
        me = os.path.abspath(__file__)
        r = subprocess.run([sys.executable, me, "id-map", good], capture_output=True, text=True)
        if r.returncode != 0 or r.stdout:
            bad.append("CLI on a good file: exit %d, %r" % (r.returncode, r.stdout))
        r = subprocess.run([sys.executable, me, "id-map", good, broken], capture_output=True, text=True)
        want = {"%s: <root>: duplicate key \"a\"" % broken, "%s: a.source: missing (required by LightHttpFileDescr)" % broken}
        if r.returncode != 1 or not want <= set(r.stdout.splitlines()):
            bad.append("CLI on a bad file: exit %d, %r" % (r.returncode, r.stdout))
        npos += 1
        nneg += 1

    for b in bad:
        print("self-test: " + b)
    print("self-test: %d accepted as they must be, %d rejected as they must be, %d wrong"
          % (npos, nneg, len(bad)))
    return 1 if bad else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if argv[1:] == ["--kinds"]:
        for k, (_, _, what) in KINDS.items():
            print("%-22s %s" % (k, what))
        return 0
    if len(argv) < 3 or argv[1] not in KINDS:
        sys.stderr.write("usage: ref_shapes.py KIND FILE... | --self-test | --kinds\nkinds: %s\n"
                         % ", ".join(KINDS))
        return 2
    n = 0
    for path in argv[2:]:
        for p, msg in check_file(argv[1], path):
            print("%s: %s: %s" % (path, fmt_path(p), msg))
            n += 1
    return 1 if n else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception:  # a bug here must not read as "violations found" (exit 1)
        import traceback
        traceback.print_exc()
        sys.exit(3)
