"""Checks ONNX files the way the onnx package itself does, for tests/test_onnx.c.

usage: python3 tests/onnx_check.py FILE...

For each file: the checker with full_check (which also runs shape inference), then strict
shape inference with type checking and data propagation; prints "ok FILE" for each file it
accepts. The first one refused ends the run with the checker's message and exit status 1.
With no FILE, only checks that the onnx package imports.
"""
import sys

import onnx
import onnx.checker
import onnx.shape_inference

for path in sys.argv[1:]:
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                          data_prop=True)
    except Exception as e:  # the checker's own exception types vary between versions
        print(f"{path}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok", path)
