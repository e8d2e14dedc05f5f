#!/usr/bin/python3
"""Writes the seed inputs of the libFuzzer harnesses into tests/fuzz/corpus/<name>/.

Run from anywhere: `/usr/bin/python3 tests/fuzz/seeds.py`. Standard library only (the
.npy files are built byte by byte). Seeds are small (< 64 KiB each) and named
seed-<what>; real RDFs are copied from the community corpus (../shared/corpus, or
BO_CORPUS_DIR) as real-<folder>.yaml, from its MIT and Apache-2.0 sources only. Inputs
found by `make fuzz` that are worth keeping are added to the corpus by hand, under
another prefix, and are not touched here.
"""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.environ.get("BO_CORPUS_DIR", os.path.join(ROOT, "..", "shared", "corpus"))
MAX = 64 * 1024


def put(name, kind, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < MAX, (kind, name, len(data))
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- rdf: real RDFs and hostile YAML ---------------------------------------------------

REAL_RDFS = [  # folder under rdf/, file name
    ("valid/spec-bioimage-io__models__unet2d_nuclei_broad__bioimageio", "bioimageio.yaml"),
    ("valid/spec-bioimage-io__models__stardist_example_model__v0_4", "v0_4.bioimageio.yaml"),
    ("valid/spec-bioimage-io-2024-01__collections__partner_collection__rdf", "rdf.yaml"),
    ("valid/spec-bioimage-io__datasets__covid_if_training_data__bioimageio", "bioimageio.yaml"),
    ("valid/bioimageio-ambitious-sloth__bioimageio", "bioimageio.yaml"),
    ("valid/qupath-bioimageio-spec__unet2d_nuclei_broad__rdf_v0_3_0", "rdf_v0_3_0.yaml"),
    ("invalid/spec-bioimage-io__models__unet2d_nuclei_broad__invalid_v0_4_0_duplicate_tensor_names",
     "invalid_v0_4_0_duplicate_tensor_names.bioimageio.yaml"),
    ("invalid/JDLL__special_models__cellpose__rdf", "rdf.yaml"),
]


def laughs(levels, fan):
    s = "type: dataset\nl0: &l0 [x" + ", x" * (fan - 1) + "]\n"
    for i in range(1, levels):
        s += f"l{i}: &l{i} [" + ", ".join(f"*l{i - 1}" for _ in range(fan)) + "]\n"
    return s


def rdf_seeds():
    for folder, name in REAL_RDFS:
        src = os.path.join(CORPUS, "rdf", folder, name)
        if os.path.exists(src):
            with open(src, "rb") as f:
                put("real-" + os.path.basename(folder) + ".yaml", "rdf", f.read())
        else:
            print(f"seeds.py: {src} is missing; skipped", file=sys.stderr)
    put("seed-minimal.yaml", "rdf", "type: dataset\nname: n\nformat_version: 0.2.4\n")
    put("seed-deep-block.yaml", "rdf", "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "v\n")
    put("seed-deep-flow.yaml", "rdf", "a: " + "[" * 80 + "]" * 80 + "\n")
    put("seed-deep-63.yaml", "rdf", "a: " + "{b: " * 62 + "x" + "}" * 62 + "\n")
    put("seed-alias-laughs.yaml", "rdf", laughs(9, 10))
    put("seed-alias-mapping-laughs.yaml", "rdf",
        "a: &a {x: 1, y: 2, z: 3}\n" + "".join(f"b{i}: &b{i} {{p: *{'a' if i == 0 else 'b' + str(i - 1)}, q: *{'a' if i == 0 else 'b' + str(i - 1)}}}\n" for i in range(20)))
    put("seed-alias-scalar.yaml", "rdf", "a: &a " + "x" * 4000 + "\nb: [" + ", ".join(["*a"] * 400) + "]\n")
    put("seed-alias-key.yaml", "rdf", "k: &k name\n*k : value\nm: {*k : 1}\n")
    put("seed-alias-recursive.yaml", "rdf", "a: &a [1, *a]\n")
    put("seed-alias-unknown.yaml", "rdf", "a: *nowhere\n")
    put("seed-merge.yaml", "rdf", "base: &b {x: 1, y: 2}\nmore: &m {z: 3}\nc:\n  <<: [*b, *m]\n  x: 9\nd: {<<: *b}\n")
    put("seed-merge-deep.yaml", "rdf",
        "a: &a {x: {y: {z: {w: 1}}}}\nb: &b {<<: *a}\nc: [[[[*b]]]]\n")
    put("seed-merge-invalid.yaml", "rdf", "a: {<<: 1}\nb: {<<: [1, 2]}\nc: {<<: {x: 1}, <<: {y: 2}}\n")
    put("seed-merge-bomb.yaml", "rdf",
        "m0: &m0 {a: 1, b: 2, c: 3, d: 4}\n" + "".join(f"m{i}: &m{i} {{<<: *m{i - 1}, n{i}: [*m{i - 1}, *m{i - 1}]}}\n" for i in range(1, 16)))
    put("seed-huge-scalar.yaml", "rdf", "description: " + "y" * 16000 + "\n")
    put("seed-huge-quoted.yaml", "rdf", 'description: "' + "\\u00e9" * 2000 + '"\n')
    put("seed-huge-literal.yaml", "rdf", "description: |\n" + ("  " + "z" * 79 + "\n") * 150)
    # copies of long scalars: more text than max_bytes (4 MiB) from 48 KiB documents
    put("seed-alias-amplify.yaml", "rdf", "a: &a " + "x" * 48000 + "\nb: [" + ", ".join(["*a"] * 180) + "]\n")
    put("seed-alias-key-amplify.yaml", "rdf",
        "k: &k " + "k" * 48000 + "\nl: [" + ", ".join(["{*k : 1}"] * 120) + "]\n")
    put("seed-long-key.yaml", "rdf", "k" * 300 + ": 1\n" + "k" * 300 + ": 2\n")
    # a repeated key is quoted in the message up to 200 bytes: never half a character
    put("seed-long-key-utf8.yaml", "rdf", "x" + "é" * 150 + ": 1\n" + "x" + "é" * 150 + ": 2\n")
    put("seed-dup-keys.yaml", "rdf", "type: dataset\nname: one\nlicense: MIT\nname: two\n")
    put("seed-multi-doc.yaml", "rdf", "a: 1\n---\nb: 2\n")
    put("seed-not-mapping.yaml", "rdf", "- a\n- b\n")
    put("seed-empty.yaml", "rdf", "")
    put("seed-non-scalar-key.yaml", "rdf", "? [a, b]\n: 1\n? {c: d}\n: 2\n")
    put("seed-scalars.yaml", "rdf",
        "a: ~\nb: Null\nc: TRUE\nd: false\ne: 0x1F\nf: 0o17\ng: 1e-06\nh: .inf\ni: -.Inf\nj: .NaN\n"
        "k: yes\nl: 'quoted'\nm: !!str 12\nn: ! 12\no: 1_000\np: 2001-12-14\nq: +12\nr: -0\ns: .5\n"
        "t: \"\\0nul\\x80\\u2028\\U0001F600\"\nu: 12345678901234567890\nv: 1.7976931348623157e309\n")
    put("seed-directive.yaml", "rdf", "%YAML 1.2\n%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n...\n")
    put("seed-syntax-error.yaml", "rdf", "type: dataset\nname: [unclosed\nlicense: MIT\n")
    put("seed-tab-indent.yaml", "rdf", "a:\n\tb: 1\n")
    put("seed-bad-utf8.yaml", "rdf", b"name: \xff\xfe bad\n")
    put("seed-bom.yaml", "rdf", b"\xef\xbb\xbfname: bom\n")
    put("seed-utf16.yaml", "rdf", "name: wide\n".encode("utf-16"))
    put("seed-nul.yaml", "rdf", b"name: a\x00b\n")
    put("seed-anchor-key.yaml", "rdf", "&a k: 1\n*a : 2\n")
    put("seed-emit-specials.yaml", "rdf",
        "'<<': 1\n'- x': '#c'\n': ': ' lead'\n'trail ': \"a\\nb\\n\"\n'': empty\n\"\\t\": \"\\r\\n\"\n"
        "'null': 'true'\n'~': '0o7'\n'@x': '`y'\n'%p': '!q'\n'*s': '&t'\n'{u': '[v'\n"
        "w: \"\\u0085\\ufeff\\u200b\"\nx: \"line\\n  indented\\n\"\ny: \"trailing space \\n\"\n")


# ---- npy: headers built byte by byte ---------------------------------------------------

def npy(dict_text, data=b"", major=1, pad_to=64, raw_len=None):
    body = dict_text.encode("latin-1")
    prefix = 10 if major == 1 else 12
    if pad_to:
        total = prefix + len(body) + 1
        body += b" " * ((-total) % pad_to) + b"\n"
    n = len(body) if raw_len is None else raw_len
    head = b"\x93NUMPY" + bytes([major, 0])
    head += struct.pack("<H", n) if major == 1 else struct.pack("<I", n)
    return head + body + data


def npy_seeds():
    f4 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put("seed-f4-c.npy", "npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4))
    put("seed-f4-fortran.npy", "npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4))
    put("seed-f8-fortran-3d.npy", "npy",
        npy("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3, 2), }", struct.pack(">12d", *range(12))))
    put("seed-i8-v2.npy", "npy", npy("{'descr': '>i8', 'fortran_order': False, 'shape': (4,), }",
                                     struct.pack(">4q", 1, -2, 3, -4), major=2))
    put("seed-u2-v3-scalar.npy", "npy", npy("{'descr': '<u2', 'fortran_order': False, 'shape': (), }",
                                            struct.pack("<H", 7), major=3))
    put("seed-u1-empty.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (0,), }"))
    put("seed-u1-zero-dim.npy", "npy", npy("{'descr': '|u1', 'fortran_order': True, 'shape': (3, 0, 2), }"))
    put("seed-bool.npy", "npy", npy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", b"\x01\x00\x01"))
    put("seed-f2.npy", "npy", npy("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }",
                                  struct.pack("<4H", 0x3C00, 0x7C00, 0x7E00, 0x0001)))
    put("seed-u8-be.npy", "npy", npy("{'descr': '>u8', 'fortran_order': False, 'shape': (1, 2), }",
                                     struct.pack(">2Q", 2**64 - 1, 2**53 + 1)))
    put("seed-py2-long.npy", "npy", npy("{'descr': '|i1', 'fortran_order': False, 'shape': (2L, 1L), }", b"\x01\x02"))
    put("seed-double-quotes.npy", "npy", npy('{"descr": "<i4", "fortran_order": False, "shape": (1,)}', b"\0" * 4, pad_to=0))
    put("seed-object.npy", "npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\x80\x02N."))
    put("seed-structured.npy", "npy", npy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 8))
    put("seed-complex.npy", "npy", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8))
    put("seed-string.npy", "npy", npy("{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 16))
    put("seed-native-order.npy", "npy", npy("{'descr': '=f4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 4))
    put("seed-no-order.npy", "npy", npy("{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 4))
    put("seed-17-dims.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (" + "1, " * 17 + "), }", b"\1"))
    put("seed-negative-dim.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (-1,), }"))
    put("seed-overflow-shape.npy", "npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
    put("seed-overflow-bytes.npy", "npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }"))
    put("seed-dim-too-big.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,), }"))
    put("seed-one-tuple.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (5), }", b"\0" * 5))
    put("seed-dup-key.npy", "npy", npy("{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", b"\0"))
    put("seed-unknown-key.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'x': 1}", b"\0"))
    put("seed-missing-key.npy", "npy", npy("{'descr': '|u1', 'shape': (1,), }", b"\0"))
    put("seed-trailing.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), } x", b"\0"))
    put("seed-escape.npy", "npy", npy("{'descr': '\\x3cf4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 4))
    put("seed-version-4.npy", "npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", b"\0")[:6] + b"\x04\x00" + npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", b"\0")[8:])
    put("seed-bad-magic.npy", "npy", b"\x93NUMPX\x01\x00\x10\x00{}")
    put("seed-header-truncated.npy", "npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4)[:40])
    put("seed-data-truncated.npy", "npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4)[:-5])
    put("seed-data-trailing.npy", "npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4 + b"xx"))
    put("seed-header-over-limit.npy", "npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 70000) + b"{")
    put("seed-header-empty.npy", "npy", b"\x93NUMPY\x01\x00\x00\x00")
    put("seed-prefix-only.npy", "npy", b"\x93NUM")
    for folder, name in [("valid/spec-bioimage-io-2024-01__models__hpa-densenet__rdf", "test_output_classes.npy"),
                         ("valid/spec-bioimage-io__models__upsample_test_model__v0_4", "test_input.npy")]:
        src = os.path.join(CORPUS, "rdf", folder, name)
        if os.path.exists(src):
            with open(src, "rb") as f:
                put("real-" + name, "npy", f.read())


# ---- zip: hostile_zips.py and packages of our own --------------------------------------

GOOD_RDF = b"type: dataset\nformat_version: 0.2.4\nname: fuzz seed\ndescription: x\nauthors: [{name: T}]\nlicense: MIT\n"


def zbytes(entries, method=zipfile.ZIP_DEFLATED, comment=b""):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
        z.comment = comment
    return buf.getvalue()


def zip_seeds():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "hostile_zips.py"), tmp], check=True)
        for name in sorted(os.listdir(tmp)):
            p = os.path.join(tmp, name)
            if os.path.getsize(p) < MAX:
                with open(p, "rb") as f:
                    put("hostile-" + name, "zip", f.read())
    minimal = os.path.join(ROOT, "tests", "fixtures", "packages", "dataset-minimal")
    entries = []
    for name in sorted(os.listdir(minimal)):
        with open(os.path.join(minimal, name), "rb") as f:
            entries.append((name, f.read()))
    tensor = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", struct.pack("<6f", *range(6)))
    good = zbytes(entries + [("test_input.npy", tensor)])
    put("seed-good-package.zip", "zip", good)
    put("seed-good-stored.zip", "zip", zbytes(entries, zipfile.ZIP_STORED))
    put("seed-good-folder.zip", "zip", zbytes([("model/", b""), ("model/rdf.yaml", GOOD_RDF), ("model/w.bin", b"w" * 100)]))
    put("seed-junk.zip", "zip", zbytes([("rdf.yaml", GOOD_RDF), ("__MACOSX/._rdf.yaml", b"x"), ("a/.DS_Store", b"x")]))
    put("seed-comment.zip", "zip", zbytes([("rdf.yaml", GOOD_RDF)], comment=b"PK\x05\x06 a comment that looks like an EOCD"))
    put("seed-file-and-folder.zip", "zip", zbytes([("rdf.yaml", GOOD_RDF), ("a", b"1"), ("A/b", b"2")]))
    put("seed-dot-segments.zip", "zip", zbytes([("./rdf.yaml", GOOD_RDF), ("a//b/./c.txt", b"1"), ("d/", b"")]))
    put("seed-empty-zip.zip", "zip", zbytes([]))
    put("seed-truncated-half.zip", "zip", good[: len(good) // 2])
    put("seed-truncated-tail.zip", "zip", good[:-10])
    eocd = good.rfind(b"PK\x05\x06")
    cd = struct.unpack("<I", good[eocd + 16: eocd + 20])[0]
    put("seed-bad-cd-signature.zip", "zip", good[:cd] + b"PK\x01\x07" + good[cd + 4:])
    put("seed-bad-cd-offset.zip", "zip", good[:eocd + 16] + struct.pack("<I", cd + 7) + good[eocd + 20:])
    put("seed-count-mismatch.zip", "zip", good[:eocd + 8] + struct.pack("<HH", 2, 2) + good[eocd + 12:])
    put("seed-multidisk.zip", "zip", good[:eocd + 4] + struct.pack("<H", 1) + good[eocd + 6:])
    put("seed-huge-count.zip", "zip", good[:eocd + 8] + struct.pack("<HH", 65535, 65535) + good[eocd + 12:])
    # local header and central record both claim "encrypted" (bit 0)
    enc = bytearray(good)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = enc.find(sig)
        enc[i + off] |= 1
    put("seed-encrypted-flag.zip", "zip", bytes(enc))
    # compression method 99 (AES) / 14 (LZMA) in both headers of the first entry
    for method, label in ((99, "aes"), (14, "lzma"), (12, "bzip2")):
        m = bytearray(zbytes([("rdf.yaml", GOOD_RDF)], zipfile.ZIP_STORED))
        i = m.find(b"PK\x03\x04")
        m[i + 8: i + 10] = struct.pack("<H", method)
        j = m.find(b"PK\x01\x02")
        m[j + 10: j + 12] = struct.pack("<H", method)
        put(f"seed-method-{label}.zip", "zip", bytes(m))
    # declared sizes that lie: both headers say 10 bytes, the data holds more; in the
    # central directory only (inconsistent); stored data shorter than the headers say
    lie = bytearray(zbytes([("rdf.yaml", GOOD_RDF)]))
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = lie.find(sig)
        lie[i + off: i + off + 4] = struct.pack("<I", 10)
    put("seed-size-lie.zip", "zip", bytes(lie))
    lie_cd = bytearray(zbytes([("rdf.yaml", GOOD_RDF)], zipfile.ZIP_STORED))
    j = lie_cd.find(b"PK\x01\x02")
    lie_cd[j + 24: j + 28] = struct.pack("<I", 10)
    put("seed-size-lie-cd.zip", "zip", bytes(lie_cd))
    short = bytearray(zbytes([("rdf.yaml", GOOD_RDF)], zipfile.ZIP_STORED))
    for sig, off in ((b"PK\x03\x04", 18), (b"PK\x01\x02", 20)):
        i = short.find(sig)
        short[i + off: i + off + 8] = struct.pack("<II", 20, 20)
    put("seed-size-short.zip", "zip", bytes(short))
    # zip64 extra fields on the entry (force_zip64)
    z64 = io.BytesIO()
    with zipfile.ZipFile(z64, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        with z.open("rdf.yaml", "w", force_zip64=True) as f:
            f.write(GOOD_RDF)
    put("seed-zip64-entry.zip", "zip", z64.getvalue())
    long_name = "d/" + "n" * 300 + ".txt"
    put("seed-long-segment.zip", "zip", zbytes([("rdf.yaml", GOOD_RDF), (long_name, b"x")]))
    put("seed-drive-letter.zip", "zip", zbytes([("rdf.yaml", GOOD_RDF), ("c:evil.txt", b"x")]))
    put("seed-control-char.zip", "zip", zbytes([("rdf.yaml", GOOD_RDF), ("a\x01b.txt", b"x"), ("c\u0085d.txt", b"x")]))


# ---- json: request bodies --------------------------------------------------------------

def json_seeds():
    put("seed-upload-url.json", "json", '{"url": "https://example.org/package.zip", "id": "affable-shark"}')
    put("seed-review.json", "json", '{"action": "request-changes", "message": "Please add a cover.\\nThanks"}')
    put("seed-rdf.json", "json", json.dumps({
        "type": "model", "format_version": "0.5.3", "name": "UNet 2D nuclei", "authors": [{"name": "A"}],
        "inputs": [{"id": "raw", "axes": [{"type": "batch"}, {"type": "space", "id": "y", "size": 512}],
                    "test_tensor": {"source": "test_input.npy", "sha256": "0" * 64}}],
        "weights": {"onnx": {"source": "weights.onnx", "opset_version": 15}}, "tags": ["unet", "2d"],
        "config": {"x": None, "y": True, "z": -1.5e-3}}))
    put("seed-dup-keys.json", "json", '{"a": 1, "b": 2, "a": 3}')
    put("seed-dup-keys-nested.json", "json", '{"x": [{"k": 1, "k": 1}]}')
    put("seed-bad-utf8.json", "json", b'{"name": "\xff\xfe"}')
    put("seed-bad-utf8-key.json", "json", b'{"\xc3": 1}')
    put("seed-overlong.json", "json", b'{"a": "\xc0\xaf", "b": "\xe0\x80\xaf", "c": "\xf0\x80\x80\xaf"}')
    put("seed-surrogate-bytes.json", "json", b'{"a": "\xed\xa0\x80", "b": "\xed\xbf\xbf"}')
    put("seed-above-max.json", "json", b'{"a": "\xf4\x90\x80\x80", "b": "\xf5\x80\x80\x80"}')
    put("seed-escapes.json", "json", '{"a": "\\ud800", "b": "\\udc00x", "c": "\\ud83d\\ude00", "d": "\\u0000tail", "e": "\\u00e9\\u2028\\ufeff"}')
    put("seed-valid-utf8.json", "json", '{"é": "ü€😀", "ключ": "значение"}')
    put("seed-deep-64.json", "json", '{"a": ' + "[" * 63 + "1" + "]" * 63 + "}")
    put("seed-deep-65.json", "json", "[" * 66 + "]" * 66)
    put("seed-deep-2000.json", "json", "[" * 2000 + "]" * 2000)
    put("seed-numbers.json", "json", '[1e400, -1e400, -0, 0.1, 1.5e-320, 12345678901234567890, 1e15, 999999999999999.9, 4.35, -2147483649]')
    put("seed-yaml-words.json", "json", json.dumps({
        "<<": "yes", "~": "null", "0x1F": "0o17", "- x": "#c", ": ": "? q", "1_000": "2001-12-14", "": " lead",
        "trail ": "a\nb", "multi\nline key": "\t", "%": "@", "!": "&a", "*a": "|", ">": "'", '"': "\r\n",
        ".inf": "-.5", "+1": ".", "y": "N", "on": "Off", "=": "\u0085\u2028\u200b\ufeff"}, ensure_ascii=False))
    put("seed-empty-containers.json", "json", '{"a": [], "b": {}, "c": [[], {}], "d": ""}')
    put("seed-scalar-top.json", "json", '"just a string"')
    put("seed-array-top.json", "json", '[1, "two", null, true, false]')
    put("seed-trailing-garbage.json", "json", '{"a": 1} trailing')
    put("seed-truncated.json", "json", '{"a": [1, 2, {"b": "unterminated')
    put("seed-nul-inside.json", "json", b'{"a": "x\x00y"}')
    put("seed-control-chars.json", "json", b'{"a": "\x01\x1f\x7f"}')
    put("seed-long-string.json", "json", '{"description": "' + "lorem ipsum " * 1000 + '"}')


def part(name, value, filename=None, ctype=None, boundary="fuzzboundary"):
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{boundary}\r\nContent-Disposition: {disp}\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def multipart_seeds():
    """Bodies for fuzz_multipart (boundary `fuzzboundary`): what curl -F sends, the
    repeats the form refuses, an id at and past its limit, framing edge cases."""
    end = b"--fuzzboundary--\r\n"
    pk = zbytes([("rdf.yaml", b"type: dataset\nname: x\n")])
    put("seed-package", "multipart", part("package", pk, "p.zip", "application/zip") + end)
    put("seed-package-and-id", "multipart",
        part("package", pk, "p.zip", "application/zip") + part("id", b"affable-shark") + end)
    put("seed-two-packages", "multipart",
        part("package", b"PK1", "a.zip") + part("package", b"PK2", "b.zip") + end)
    put("seed-two-ids", "multipart", part("id", b"a") + part("id", b"b") + part("package", b"PK", "p.zip") + end)
    put("seed-id-127", "multipart", part("id", b"a" * 127) + end)
    put("seed-id-128", "multipart", part("id", b"a" * 128) + end)
    put("seed-other-fields", "multipart", part("note", b"hello") + part("package", b"PK", "p.zip") + end)
    put("seed-boundary-in-data", "multipart",
        part("package", b"--fuzzboundar\r\n--fuzzboundaryX\r\n", "p.zip") + end)
    put("seed-no-end", "multipart", part("package", b"PK\x03\x04", "p.zip"))
    put("seed-mixed-nested", "multipart",
        b"--fuzzboundary\r\nContent-Disposition: form-data; name=\"files\"\r\n"
        b"Content-Type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\n"
        b"Content-Disposition: file; filename=\"a.zip\"\r\n\r\nPK\r\n--inner--\r\n" + end)
    put("seed-empty-then-package", "multipart", part("package", b"", "e.zip") + part("package", b"PK", "p.zip") + end)
    put("seed-lf-only", "multipart",
        b"--fuzzboundary\nContent-Disposition: form-data; name=\"package\"; filename=\"p\"\n\nPK\n--fuzzboundary--\n")
    put("seed-preamble", "multipart", b"preamble text\r\n" + part("package", b"PK", "p.zip") + end + b"epilogue")


def main():
    for kind in ("rdf", "npy", "zip", "json", "multipart"):
        d = os.path.join(HERE, "corpus", kind)
        if os.path.isdir(d):
            for name in os.listdir(d):
                if name.startswith(("seed-", "real-", "hostile-")):
                    os.remove(os.path.join(d, name))
    rdf_seeds()
    npy_seeds()
    zip_seeds()
    json_seeds()
    multipart_seeds()
    for kind in ("rdf", "npy", "zip", "json", "multipart"):
        d = os.path.join(HERE, "corpus", kind)
        print(f"{kind}: {len(os.listdir(d))} files, {sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))} bytes")


if __name__ == "__main__":
    main()
