'use strict';
// Entry point of the GitHub Action (action.yml: runs.using node24). It runs
// the inline-cache binary for this runner, dist/inline-cache-<os>-<arch>,
// and builds it from source with `go build` when no prebuilt binary is
// there (main carries no binaries). No npm dependencies: node's own modules.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const GOOS = { linux: 'linux', darwin: 'darwin', win32: 'windows' };
const GOARCH = { x64: 'amd64', arm64: 'arm64' };

// binaryName maps node's platform and arch to the name `make dist` writes.
function binaryName(platform, arch) {
  const goos = GOOS[platform];
  const goarch = GOARCH[arch];
  if (!goos || !goarch) {
    throw new Error(`inline-cache has no build for ${platform}/${arch} (supported: linux, darwin, windows on x64 or arm64)`);
  }
  return `inline-cache-${goos}-${goarch}${goos === 'windows' ? '.exe' : ''}`;
}

// ensureBinary returns the binary's path, building it from the action's
// source when missing. run is injected for tests.
function ensureBinary({ distDir, platform, arch, run = spawnSync, log = console.log }) {
  const bin = path.join(distDir, binaryName(platform, arch));
  if (fs.existsSync(bin)) {
    return bin;
  }
  log(`inline-cache: no prebuilt ${path.basename(bin)}; building it from source with go build`);
  const r = run('go', ['build', '-trimpath', '-o', bin, '.'], {
    cwd: path.dirname(distDir),
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

function main() {
  let bin;
  try {
    bin = ensureBinary({ distDir: __dirname, platform: process.platform, arch: process.arch });
  } catch (err) {
    // A workflow command: this only ever runs inside GitHub Actions or act.
    console.log(`::error::${String(err.message).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`);
    process.exit(1);
  }
  const child = spawn(bin, ['build'], { stdio: 'inherit' });
  // A cancelled job signals us; pass it on so buildx can stop the build.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => child.kill(sig));
  }
  child.on('error', (err) => {
    console.log(`::error::cannot run ${bin}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code === null ? (signal ? 1 : 0) : code));
}

if (require.main === module) {
  main();
}

module.exports = { binaryName, ensureBinary };
