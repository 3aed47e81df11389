'use strict';
// The service: answers with its uptime, formatted by a dependency.
const http = require('http');
const ms = require('ms');
const semver = require('semver');

const started = Date.now();

function greeting() {
  return `hello from nodeservice on node ${semver.major(process.version)}, up ${ms(Date.now() - started)}`;
}

if (process.argv.includes('--check')) {
  console.log(greeting());
} else {
  http.createServer((req, res) => res.end(greeting() + '\n')).listen(8080, '127.0.0.1');
}
