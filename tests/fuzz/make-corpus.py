#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/): small valid inputs of every
format, made from scratch here so that their provenance is plain. Run with Debian's python3 (it
needs python3-torch for the torch.save seed); pass the panoramia binary to also make the results
database seed from a tiny real audit:  tests/fuzz/make-corpus.py [build/bin/panoramia]"""

import gzip
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CUT = b"\n--8<--\n"  # the part separator of fuzz_input.hpp


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def score_csv():
    put("score_csv", "two-columns.csv",
        "member,baseline_pred,mia_pred\n1,0.9,0.8\n0,0.1,0.3\n1,0.7,0.65\n0,0.2,0.5\n")
    put("score_csv", "index-crlf-bom.csv",
        "\ufeff,member,baseline_pred,mia_loss_pred,real/mia_pred\r\n0,True,1,0.5,0.25\r\n"
        "1,False,0,0.125,1e-3\r\n\r\n")


def config():
    with open(os.path.join(ROOT, "configs", "adult-tiny.ini"), "rb") as f:
        ini = f.read()
    put("config", "adult-tiny.ini", ini + CUT + b"audit.seed=7\ntarget.epochs=2")
    put("config", "comments.ini",
        "\ufeff# a comment\n[audit]\nname = x ; inline\nseed = 1\n\n; full line\n[data]\n"
        "plugin = gaussian\n" + CUT.decode() + "data.samples=10")


def csv():
    put("csv", "adult-like.csv",
        "age,workclass,hours,income\n39, State-gov,40, <=50K\n50, ?,13, >50K\n"
        "38,\"Private, inc\",40, <=50K\n")
    put("csv", "no-header.csv", "1.5,x,yes\n2,y,no\n?,x,yes\n")


def csv_schema():
    put("csv_schema", "schema.json", json.dumps({
        "columns": [{"name": "age", "kind": "continuous"},
                    {"name": "workclass", "kind": "categorical",
                     "categories": ["Private", "State-gov"]},
                    {"name": "income", "kind": "categorical", "categories": ["<=50K", ">50K"]}],
        "label": "income"}, indent=2))


def idx():
    def array(dims, data):
        return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data
    images = array([2, 3, 3], bytes(range(18)))
    put("idx", "images.idx", images)
    put("idx", "labels.idx", array([4], bytes([0, 1, 2, 9])))
    put("idx", "images.idx.gz", gzip.compress(images, mtime=0))


def cifar10():
    records = b""
    for label in (3, 9):
        records += bytes([label]) + bytes((label * 7 + i) % 256 for i in range(3 * 32 * 32))
    put("cifar10", "data_batch_1.bin", records)


def safetensors():
    data = struct.pack("<4f", 0.5, -1.0, 2.0, 3.0) + struct.pack("<2q", 7, -7)
    header = {"wte.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
              "steps": {"dtype": "I64", "shape": [2], "data_offsets": [16, 32]},
              "__metadata__": {"format": "pt"}}
    text = json.dumps(header).encode()
    put("safetensors", "model.safetensors", struct.pack("<Q", len(text)) + text + data)


def byte_symbols():
    # GPT-2's printable stand-ins for the 256 byte values.
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    symbols, extra = {}, 0
    for b in range(256):
        if b in keep:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    return symbols


def bpe():
    symbols = byte_symbols()
    vocab = {symbols[b]: b for b in range(256)}
    merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("\u0120", "w")]
    for i, (a, b) in enumerate(merges):
        vocab[a + b] = 256 + i
    vocab["<|endoftext|>"] = 256 + len(merges)
    text = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    put("bpe", "hf-layout", json.dumps(vocab).encode() + CUT + text.encode())


def text():
    put("text", "wiki.raw",
        "\n = Valkyria Chronicles = \n\n Senjō no Valkyria is a game . \n\n"
        " = = Gameplay = = \n\n The game 's battles are turn @-@ based . \n")
    put("text", "paragraphs.txt", "First paragraph, two lines\nof text.\n\nSecond one: ünïcödé ✓.\n")


def torch_save():
    import collections
    import torch
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights.pth")
        d = collections.OrderedDict()
        d["heads.head.weight"] = torch.arange(6.0).reshape(2, 3)
        d["heads.head.bias"] = torch.ones(2).half()
        torch.save({"model": d}, path)
        with open(path, "rb") as f:
            put("torch_save", "state_dict.pth", f.read())


def tiny_png():
    """A 2x1 grey PNG (signature, IHDR, IDAT, IEND), as an image reader's preview holds."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 2, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(b"\x00\x10\xf0")) + chunk(b"IEND", b""))


def add_previews(con):
    """The gaussian reader draws no preview: the seed gets one of each kind (image, table, texts)."""
    con.execute("CREATE TABLE IF NOT EXISTS previews (run_id INTEGER NOT NULL REFERENCES runs(id), "
                "role TEXT NOT NULL, png BLOB, data TEXT NOT NULL, PRIMARY KEY (run_id, role))")
    empty = {"columns": [], "rows": [], "texts": []}
    con.execute("INSERT INTO previews VALUES (1, 'real', ?, ?)", (tiny_png(), json.dumps(empty)))
    table = dict(empty, columns=["age", "work"], rows=[["39", "State-gov"], ["50", "<b>&"]])
    con.execute("INSERT INTO previews VALUES (1, 'generated', NULL, ?)", (json.dumps(table),))
    texts = dict(empty, texts=[" = Valkyria = \n", "caf\u00e9"])
    con.execute("INSERT INTO previews VALUES (1, 'texts', NULL, ?)", (json.dumps(texts),))


def results_db(panoramia):
    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "toy.ini")
        with open(ini, "w") as f:
            f.write("[audit]\nname = fuzz-seed\nseed = 3\n\n[data]\nplugin = gaussian\n"
                    "samples = 120\ndim = 3\nclasses = 2\n\n[generator]\nplugin = gaussian\n\n"
                    "[target]\nplugin = mlp\nhidden = 8\nepochs = 2\n\n[helper]\nplugin = mlp\n"
                    "hidden = 4\nepochs = 1\n\n[featurizer]\nplugin = loss\n\n"
                    "[attack]\nplugin = loss-threshold\n")
        db = os.path.join(tmp, "results.db")
        subprocess.run([panoramia, "audit", ini, "--workdir", os.path.join(tmp, "work"), "--db", db,
                        "--log-level", "warn"], check=True, stdout=subprocess.DEVNULL)
        con = sqlite3.connect(db)
        # A few scores per column and short curves keep the seed small (fast to fuzz); every table
        # and column kind stays.
        con.execute("DELETE FROM scores WHERE idx >= 6")
        for rowid, data in con.execute("SELECT rowid, data FROM curves").fetchall():
            curve = json.loads(data)
            if isinstance(curve, dict):
                curve = {k: (v[:4] if isinstance(v, list) else v) for k, v in curve.items()}
            con.execute("UPDATE curves SET data = ? WHERE rowid = ?", (json.dumps(curve), rowid))
        add_previews(con)
        con.commit()
        con.execute("PRAGMA journal_mode=DELETE")
        con.execute("PRAGMA page_size=512")
        con.execute("VACUUM")
        con.close()
        with open(db, "rb") as f:
            put("results_db", "toy-run.db", f.read())


if __name__ == "__main__":
    for make in (score_csv, config, csv, csv_schema, idx, cifar10, safetensors, bpe, text, torch_save):
        make()
    if len(sys.argv) > 1:
        results_db(sys.argv[1])
