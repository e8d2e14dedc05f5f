# state_dict_runner.py: the Python half of the `pytorch_state_dict` runtime
# (workers/runtime_state_dict.c). The worker compiles this file into its binary, writes it
# into its scratch directory and runs it with /usr/bin/python3 -I -B, already inside the
# sandbox. Invariant: weights are only ever read with torch.load(weights_only=True), so a
# weights file cannot run code; only the package's architecture source is executed.
#
# Protocol on fd 0 (a socket; one JSON object per line each way):
#   <- {"op": "load", "package_dir", "weights", "source" | "import_from", "callable",
#       "kwargs", "threads"}
#   -> {"ok": true, "inputs": [forward's argument names], "torch": version}
#   <- {"op": "run", "inputs": [.npy paths], "out_prefix": path prefix}
#   -> {"ok": true, "outputs": [.npy paths]}
# A failure answers {"ok": false, "kind": "runtime"|"architecture"|"weights"|"model"|
# "request", "error": one line}; after a failed load the script exits 1. stdout is
# redirected to stderr by the worker so prints of the architecture code go to the log.
import importlib
import importlib.util
import inspect
import json
import os
import sys


class Refused(Exception):
    def __init__(self, kind, msg):
        super().__init__(msg)
        self.kind = kind


def one_line(e):
    text = str(e).strip().splitlines()
    text = text[0] if text else ""
    name = type(e).__name__
    return f"{name}: {text}" if text else name


def import_architecture(req):
    pkg = os.path.realpath(req["package_dir"])
    name = req.get("callable")
    if not isinstance(name, str) or not name.isidentifier():
        raise Refused("architecture", f"architecture callable {name!r} is not a Python name")
    if req.get("source"):
        path = os.path.realpath(os.path.join(pkg, req["source"]))
        if not path.startswith(pkg + os.sep):
            raise Refused("architecture",
                          f"architecture source {req['source']} is outside the package")
        if not os.path.isfile(path):
            raise Refused("architecture",
                          f"architecture source {req['source']} is not in the package")
        modname = os.path.splitext(os.path.basename(path))[0]
        if not modname.isidentifier():
            modname = "bo_architecture"
        # the architecture may import sibling modules of the package
        sys.path.insert(0, os.path.dirname(path))
        try:
            spec = importlib.util.spec_from_file_location(modname, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            spec.loader.exec_module(module)
        except Exception as e:
            raise Refused("architecture",
                          f"architecture source {req['source']} raised on import: {one_line(e)}")
        where = req["source"]
    else:
        where = req.get("import_from") or ""
        try:
            module = importlib.import_module(where)
        except Exception as e:
            raise Refused("architecture", f"cannot import {where}: {one_line(e)}")
    if not hasattr(module, name):
        raise Refused("architecture", f"architecture {where} has no callable {name!r}")
    return getattr(module, name)


def load(torch, req):
    cls = import_architecture(req)
    kwargs = req.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise Refused("architecture", "architecture kwargs are not a mapping")
    try:
        model = cls(**kwargs)
    except Exception as e:
        raise Refused("architecture",
                      f"{req['callable']}(**kwargs) raised: {one_line(e)}")
    if not isinstance(model, torch.nn.Module):
        raise Refused("architecture",
                      f"{req['callable']}(**kwargs) is a {type(model).__name__}, not a torch.nn.Module")
    if not os.path.isfile(req["weights"]):
        raise Refused("weights", f"weights file {req['weights']} is missing")
    try:
        state = torch.load(req["weights"], map_location="cpu", weights_only=True)
    except Exception as e:
        # torch's message suggests weights_only=False; the reason is after this marker
        text = str(e)
        marker = "WeightsUnpickler error:"
        if marker in text:
            why = text.split(marker, 1)[1].strip().splitlines()[0]
            raise Refused("weights", "weights refused by torch.load(weights_only=True): "
                                     f"the file holds more than tensors ({why})")
        raise Refused("weights",
                      f"weights refused by torch.load(weights_only=True): {one_line(e)}")
    if not isinstance(state, dict):
        raise Refused("weights", f"weights hold a {type(state).__name__}, not a state dict")
    try:
        model.load_state_dict(state)
    except Exception as e:
        # load_state_dict puts each missing/unexpected/mismatched key on its own line
        lines = [x.strip() for x in str(e).splitlines() if x.strip()]
        first = lines[1] if len(lines) > 1 else one_line(e)
        more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
        raise Refused("weights", f"weights do not fit {req['callable']}: {first}{more}")
    model.eval()
    names = []
    try:
        for p in inspect.signature(model.forward).parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
    except (TypeError, ValueError):
        pass
    return model, names


def run(torch, np, model, req):
    tensors = []
    for p in req["inputs"]:
        a = np.load(p, allow_pickle=False)
        try:
            tensors.append(torch.from_numpy(np.ascontiguousarray(a)))
        except TypeError as e:
            raise Refused("model", f"input {os.path.basename(p)}: {one_line(e)}")
    try:
        with torch.no_grad():
            out = model(*tensors)
    except Exception as e:
        raise Refused("model", f"forward raised: {one_line(e)}")
    if isinstance(out, torch.Tensor):
        out = [out]
    elif not isinstance(out, (tuple, list)):
        raise Refused("model", f"forward returned a {type(out).__name__}, "
                               "not a tensor or a tuple/list of tensors")
    paths = []
    for i, t in enumerate(out):
        if not isinstance(t, torch.Tensor):
            raise Refused("model", f"forward's output {i} is a {type(t).__name__}, not a tensor")
        t = t.detach().cpu()
        if t.dtype == torch.bfloat16:
            t = t.float()
        path = f"{req['out_prefix']}{i}.npy"
        np.save(path, np.ascontiguousarray(t.numpy()), allow_pickle=False)
        paths.append(path)
    return paths


def main():
    rf = os.fdopen(0, "r", encoding="utf-8")
    wf = os.fdopen(os.dup(0), "w", encoding="utf-8")

    def reply(obj):
        wf.write(json.dumps(obj) + "\n")
        wf.flush()

    def refuse(kind, msg):
        reply({"ok": False, "kind": kind, "error": msg})

    try:
        import numpy as np
        import torch
    except Exception as e:
        refuse("runtime", f"cannot import torch/numpy: {one_line(e)}")
        return 1
    line = rf.readline()
    if not line:
        return 1
    try:
        req = json.loads(line)
        if req.get("op") != "load":
            raise Refused("request", "the first request must be a load")
        torch.set_num_threads(max(1, int(req.get("threads") or 1)))
        model, names = load(torch, req)
    except Refused as e:
        refuse(e.kind, str(e))
        return 1
    except Exception as e:
        refuse("request", one_line(e))
        return 1
    reply({"ok": True, "inputs": names, "torch": torch.__version__})
    for line in rf:
        try:
            req = json.loads(line)
            if req.get("op") != "run":
                raise Refused("request", f"unknown op {req.get('op')!r}")
            reply({"ok": True, "outputs": run(torch, np, model, req)})
        except Refused as e:
            refuse(e.kind, str(e))
        except Exception as e:
            refuse("model", one_line(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
