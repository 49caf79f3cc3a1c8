// Runs ONNX models with onnxruntime-node, for tests/test_onnx.c.
//
// usage: node tests/onnx_run.js ORT_DIR [MODEL INPUT OUTPUT ROWS COLS]...
//
// ORT_DIR is where onnxruntime-node is installed (ORT_DIR/node_modules/onnxruntime-node).
// For each model: INPUT holds ROWS * COLS float32, little-endian, the input x [ROWS, COLS];
// the output y is written to OUTPUT the same way. With no model, only checks that
// onnxruntime-node loads. Exit status 1 with a message on any failure.
'use strict';
const fs = require('fs');

async function run(ort, model, input, output, rows, cols) {
  const session = await ort.InferenceSession.create(model);
  const bytes = fs.readFileSync(input);
  if (bytes.length !== 4 * rows * cols)
    throw new Error(`${input}: ${bytes.length} bytes, not ${rows} x ${cols} float32`);
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = bytes.readFloatLE(4 * i);
  const y = (await session.run({x: new ort.Tensor('float32', x, [rows, cols])})).y;
  if (y.type !== 'float32' || y.dims.length !== 2 || y.dims[0] !== rows)
    throw new Error(`${model}: y is ${y.type} [${y.dims}], not float32 [${rows}, classes]`);
  const out = Buffer.alloc(4 * y.data.length);
  y.data.forEach((v, i) => out.writeFloatLE(v, 4 * i));
  fs.writeFileSync(output, out);
}

async function main(argv) {
  if (argv.length < 1 || (argv.length - 1) % 5 !== 0)
    throw new Error('usage: node onnx_run.js ORT_DIR [MODEL INPUT OUTPUT ROWS COLS]...');
  const ort = require(require.resolve('onnxruntime-node', {paths: [argv[0]]}));
  for (let k = 1; k < argv.length; k += 5)
    await run(ort, argv[k], argv[k + 1], argv[k + 2], Number(argv[k + 3]), Number(argv[k + 4]));
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`onnx_run.js: ${e.message}`);
  process.exit(1);
});
