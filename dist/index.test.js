'use strict';
// Tests for the action's entry point: node --test dist/index.test.js
// (internal/e2e runs them as part of go test).
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { binaryName, parseSums, resolveBinary } = require('./index.js');

// Every temp dir lives under base, removed when the tests end.
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-shim-test-'));
test.after(() => fs.rmSync(base, { recursive: true, force: true }));

test('binaryName maps every node platform and arch to the file make dist writes', () => {
  const cases = [
    ['linux', 'x64', 'inline-cache-linux-amd64'],
    ['linux', 'arm64', 'inline-cache-linux-arm64'],
    ['darwin', 'x64', 'inline-cache-darwin-amd64'],
    ['darwin', 'arm64', 'inline-cache-darwin-arm64'],
    ['win32', 'x64', 'inline-cache-windows-amd64.exe'],
    ['win32', 'arm64', 'inline-cache-windows-arm64.exe'],
  ];
  for (const [platform, arch, want] of cases) {
    assert.strictEqual(binaryName(platform, arch), want, `${platform}/${arch}`);
  }
  assert.throws(() => binaryName('aix', 'ppc64'), /no build for aix\/ppc64/);
  assert.throws(() => binaryName('linux', 'ia32'), /no build for linux\/ia32/);
  assert.throws(() => binaryName('freebsd', 'x64'), /no build for freebsd\/x64/);
});

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

test('parseSums reads sha256sum output and refuses what it does not understand', () => {
  const a = sha('a');
  const b = sha('b');
  const sums = parseSums(`${a}  inline-cache-linux-amd64\n${b.toUpperCase()} *inline-cache-windows-arm64.exe\r\n\n`);
  assert.deepStrictEqual([...sums], [['inline-cache-linux-amd64', a], ['inline-cache-windows-arm64.exe', b]]);
  assert.throws(() => parseSums(`${a}  x\nnot a checksum line\n`), /SHA256SUMS line 2 is not/);
  assert.throws(() => parseSums(`${a.slice(1)}  x\n`), /line 1/);
});

// tempAction is an action checkout: <root>/dist, optionally with a binary
// for platform/arch and a SHA256SUMS with the given content.
function tempAction({ name, content, sums } = {}) {
  const root = fs.mkdtempSync(path.join(base, 'action-'));
  const dist = path.join(root, 'dist');
  fs.mkdirSync(dist);
  if (name) {
    fs.writeFileSync(path.join(dist, name), content, { mode: 0o755 });
  }
  if (sums !== undefined) {
    fs.writeFileSync(path.join(dist, 'SHA256SUMS'), sums);
  }
  return { root, dist, tmp: fs.mkdtempSync(path.join(base, 'tmp-')) };
}

const noBuild = () => assert.fail('go build ran although a prebuilt binary is there');

test('a prebuilt binary whose checksum matches is used without building', () => {
  for (const [platform, arch] of [['linux', 'x64'], ['darwin', 'arm64'], ['win32', 'x64']]) {
    const name = binaryName(platform, arch);
    const a = tempAction({ name, content: `binary ${name}`, sums: `${sha('other')}  inline-cache-other\n${sha(`binary ${name}`)}  ${name}\n` });
    const bin = resolveBinary({ distDir: a.dist, platform, arch, run: noBuild, log() {}, tmpDir: a.tmp });
    assert.strictEqual(bin, path.join(a.dist, name));
  }
});

test('a checksum mismatch is refused', () => {
  const name = 'inline-cache-linux-arm64';
  const a = tempAction({ name, content: 'tampered', sums: `${sha('original')}  ${name}\n` });
  assert.throws(
    () => resolveBinary({ distDir: a.dist, platform: 'linux', arch: 'arm64', run: noBuild, log() {}, tmpDir: a.tmp }),
    new RegExp(`checksum mismatch for ${name}: dist/SHA256SUMS says sha256 ${sha('original')}, the file has ${sha('tampered')}; refusing to run it`),
  );
});

test('a binary without a SHA256SUMS entry, or without SHA256SUMS, is refused', () => {
  const name = 'inline-cache-darwin-amd64';
  let a = tempAction({ name, content: 'x', sums: `${sha('x')}  inline-cache-linux-amd64\n` });
  assert.throws(
    () => resolveBinary({ distDir: a.dist, platform: 'darwin', arch: 'x64', run: noBuild, log() {}, tmpDir: a.tmp }),
    /dist\/SHA256SUMS has no entry for inline-cache-darwin-amd64; refusing/,
  );
  a = tempAction({ name, content: 'x' });
  assert.throws(
    () => resolveBinary({ distDir: a.dist, platform: 'darwin', arch: 'x64', run: noBuild, log() {}, tmpDir: a.tmp }),
    /dist\/SHA256SUMS is missing, so it cannot be verified; refusing/,
  );
  a = tempAction({ name, content: 'x', sums: 'garbage\n' });
  assert.throws(
    () => resolveBinary({ distDir: a.dist, platform: 'darwin', arch: 'x64', run: noBuild, log() {}, tmpDir: a.tmp }),
    /SHA256SUMS line 1 is not/,
  );
});

// fakeGo records go build calls and answers with result.
function fakeGo(calls, result = { status: 0 }) {
  return (cmd, args, opts) => {
    calls.push({ cmd, args, cwd: opts.cwd, cgo: opts.env.CGO_ENABLED, shell: opts.shell });
    return result;
  };
}

test('a missing binary is built from the action source into a temp dir', () => {
  // No binary and no SHA256SUMS: a checkout of main.
  let a = tempAction();
  let calls = [];
  const logs = [];
  let bin = resolveBinary({ distDir: a.dist, platform: 'linux', arch: 'arm64', run: fakeGo(calls), log: (m) => logs.push(m), tmpDir: a.tmp });
  assert.strictEqual(path.basename(bin), 'inline-cache-linux-arm64');
  assert.strictEqual(path.dirname(path.dirname(bin)), a.tmp, 'built outside dist/, where it would pass for a release binary');
  assert.deepStrictEqual(calls, [{ cmd: 'go', args: ['build', '-trimpath', '-o', bin, '.'], cwd: a.root, cgo: '0', shell: undefined }]);
  assert.match(logs.join('\n'), /no prebuilt inline-cache-linux-arm64; building it from source/);

  // A release whose SHA256SUMS lists the binary but the file is gone:
  // still built from source, and the log says what is odd.
  a = tempAction({ sums: `${sha('x')}  inline-cache-windows-amd64.exe\n` });
  calls = [];
  logs.length = 0;
  bin = resolveBinary({ distDir: a.dist, platform: 'win32', arch: 'x64', run: fakeGo(calls), log: (m) => logs.push(m), tmpDir: a.tmp });
  assert.strictEqual(path.basename(bin), 'inline-cache-windows-amd64.exe');
  assert.strictEqual(calls.length, 1);
  assert.match(logs.join('\n'), /lists inline-cache-windows-amd64.exe but the file is missing/);
});

test('no Go and no binary, or a failing go build, give a clear error', () => {
  const enoent = Object.assign(new Error('spawn go ENOENT'), { code: 'ENOENT' });
  let a = tempAction();
  assert.throws(
    () => resolveBinary({ distDir: a.dist, platform: 'linux', arch: 'x64', run: fakeGo([], { error: enoent }), log() {}, tmpDir: a.tmp }),
    /Go is not installed: add actions\/setup-go/,
  );
  a = tempAction();
  assert.throws(
    () => resolveBinary({ distDir: a.dist, platform: 'linux', arch: 'x64', run: fakeGo([], { status: 2 }), log() {}, tmpDir: a.tmp }),
    /go build failed \(exit status 2\)/,
  );
});

// The whole script as the runner starts it: a mismatch is a workflow
// error and exit status 1, and nothing is run.
test('the entry point reports a refused binary with ::error:: and exit 1', () => {
  const name = binaryName(process.platform, process.arch);
  const a = tempAction({ name, content: 'not the released binary', sums: `${sha('released binary')}  ${name}\n` });
  fs.copyFileSync(path.join(__dirname, 'index.js'), path.join(a.dist, 'index.js'));
  const r = spawnSync(process.execPath, [path.join(a.dist, 'index.js')], { encoding: 'utf8', env: { ...process.env, RUNNER_TEMP: a.tmp } });
  assert.strictEqual(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^::error::checksum mismatch for ${name.replace('.', '\\.')}: .*refusing to run it$`, 'm'));
});
