'use strict';
// Entry point of the GitHub Action (action.yml: runs.using node24). It runs
// the inline-cache binary for this runner, dist/inline-cache-<os>-<arch>,
// after checking its SHA-256 against dist/SHA256SUMS (written by
// `make dist`), and builds it from source with `go build` when there is no
// prebuilt binary (main carries none). No npm dependencies: node's own
// modules. Programs are spawned directly, never through a shell.

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const GOOS = { linux: 'linux', darwin: 'darwin', win32: 'windows' };
const GOARCH = { x64: 'amd64', arm64: 'arm64' };
const SUMS = 'SHA256SUMS';

// binaryName maps node's platform and arch to the name `make dist` writes.
function binaryName(platform, arch) {
  const goos = GOOS[platform];
  const goarch = GOARCH[arch];
  if (!goos || !goarch) {
    throw new Error(`inline-cache has no build for ${platform}/${arch} (supported: linux, darwin, windows on x64 or arm64)`);
  }
  return `inline-cache-${goos}-${goarch}${goos === 'windows' ? '.exe' : ''}`;
}

// parseSums reads sha256sum's format: "<64 hex>  <name>" (or " *<name>",
// binary mode). A malformed line is an error rather than skipped: a
// checksum file we only half understand proves nothing.
function parseSums(text) {
  const sums = new Map();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') {
      return;
    }
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      throw new Error(`${SUMS} line ${i + 1} is not "<sha256>  <file>": ${JSON.stringify(line)}`);
    }
    sums.set(m[2], m[1].toLowerCase());
  });
  return sums;
}

function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function readSums(distDir) {
  try {
    return parseSums(fs.readFileSync(path.join(distDir, SUMS), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') {
      return null;
    }
    throw err;
  }
}

// verifyBinary throws unless bin's SHA-256 is the one SHA256SUMS lists for
// it. A binary without a listed checksum is refused too: a release ships
// both, and anything else was put there by hand.
function verifyBinary(bin, sums) {
  const name = path.basename(bin);
  if (!sums) {
    throw new Error(`${name} is in dist/ but dist/${SUMS} is missing, so it cannot be verified; refusing to run it (remove it to build from source)`);
  }
  const want = sums.get(name);
  if (!want) {
    throw new Error(`dist/${SUMS} has no entry for ${name}; refusing to run an unverified binary (remove it to build from source)`);
  }
  const got = sha256File(bin);
  if (got !== want) {
    throw new Error(`checksum mismatch for ${name}: dist/${SUMS} says sha256 ${want}, the file has ${got}; refusing to run it`);
  }
}

// buildFromSource builds the binary from the action's own source (the
// directory above dist/) into a fresh temp dir, not into dist/, where it
// would later pass for an unverified release binary.
function buildFromSource({ srcDir, name, tmpDir, run, log }) {
  const outDir = fs.mkdtempSync(path.join(tmpDir, 'inline-cache-'));
  const bin = path.join(outDir, name);
  log(`inline-cache: no prebuilt ${name}; building it from source with go build`);
  const r = run('go', ['build', '-trimpath', '-o', bin, '.'], {
    cwd: srcDir,
    stdio: 'inherit',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (r.error && r.error.code === 'ENOENT') {
    throw new Error('no prebuilt binary for this runner and Go is not installed: add actions/setup-go before this step, or use a release tag that ships binaries');
  }
  if (r.error || r.status !== 0) {
    throw new Error(`go build failed (${r.error ? r.error.message : 'exit status ' + r.status})`);
  }
  return bin;
}

// resolveBinary returns the path of the binary to run: the verified
// prebuilt one, or one built from source when dist/ has none for this
// platform. run, log and tmpDir are injected for tests.
function resolveBinary({ distDir, platform, arch, run = spawnSync, log = console.log, tmpDir = process.env.RUNNER_TEMP || os.tmpdir() }) {
  const name = binaryName(platform, arch);
  const bin = path.join(distDir, name);
  const sums = readSums(distDir);
  if (fs.existsSync(bin)) {
    verifyBinary(bin, sums);
    return bin;
  }
  if (sums && sums.has(name)) {
    log(`inline-cache: dist/${SUMS} lists ${name} but the file is missing`);
  }
  return buildFromSource({ srcDir: path.dirname(distDir), name, tmpDir, run, log });
}

// escapeData escapes a workflow command's message.
function escapeData(s) {
  return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function main() {
  let bin;
  try {
    bin = resolveBinary({ distDir: __dirname, platform: process.platform, arch: process.arch });
  } catch (err) {
    // A workflow command: this only ever runs inside GitHub Actions or act.
    console.log(`::error::${escapeData(err.message)}`);
    process.exit(1);
  }
  const child = spawn(bin, ['build'], { stdio: 'inherit' });
  // A cancelled job signals us; pass it on so buildx can stop the build.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => child.kill(sig));
  }
  child.on('error', (err) => {
    console.log(`::error::${escapeData(`cannot run ${bin}: ${err.message}`)}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code === null ? (signal ? 1 : 0) : code));
}

if (require.main === module) {
  main();
}

module.exports = { binaryName, parseSums, verifyBinary, resolveBinary };
