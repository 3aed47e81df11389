'use strict';
// Tests for the action's entry point: node --test dist/index.test.js
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { binaryName, ensureBinary } = require('./index.js');

test('binaryName maps node platforms to the dist file names', () => {
  assert.strictEqual(binaryName('linux', 'x64'), 'inline-cache-linux-amd64');
  assert.strictEqual(binaryName('linux', 'arm64'), 'inline-cache-linux-arm64');
  assert.strictEqual(binaryName('darwin', 'arm64'), 'inline-cache-darwin-arm64');
  assert.strictEqual(binaryName('win32', 'x64'), 'inline-cache-windows-amd64.exe');
  assert.throws(() => binaryName('aix', 'ppc64'), /no build for aix\/ppc64/);
});

function tempDist() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-shim-'));
  const dist = path.join(root, 'dist');
  fs.mkdirSync(dist);
  return dist;
}

test('a prebuilt binary is used without building', () => {
  const dist = tempDist();
  const bin = path.join(dist, 'inline-cache-linux-amd64');
  fs.writeFileSync(bin, '');
  const run = () => assert.fail('go build ran although the binary exists');
  assert.strictEqual(ensureBinary({ distDir: dist, platform: 'linux', arch: 'x64', run, log() {} }), bin);
});

test('a missing binary is built from the action source', () => {
  const dist = tempDist();
  const calls = [];
  const run = (cmd, args, opts) => {
    calls.push({ cmd, args, cwd: opts.cwd });
    return { status: 0 };
  };
  const bin = ensureBinary({ distDir: dist, platform: 'linux', arch: 'arm64', run, log() {} });
  assert.strictEqual(bin, path.join(dist, 'inline-cache-linux-arm64'));
  assert.deepStrictEqual(calls, [{ cmd: 'go', args: ['build', '-trimpath', '-o', bin, '.'], cwd: path.dirname(dist) }]);
});

test('no Go and no binary gives a clear error', () => {
  const err = Object.assign(new Error('spawn go ENOENT'), { code: 'ENOENT' });
  assert.throws(
    () => ensureBinary({ distDir: tempDist(), platform: 'linux', arch: 'x64', run: () => ({ error: err }), log() {} }),
    /Go is not installed: add actions\/setup-go/,
  );
  assert.throws(
    () => ensureBinary({ distDir: tempDist(), platform: 'linux', arch: 'x64', run: () => ({ status: 2 }), log() {} }),
    /go build failed \(exit status 2\)/,
  );
});
