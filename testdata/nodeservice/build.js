'use strict';
// The build step: copies the sources to dist with a build stamp, as a
// bundler or compiler would produce them.
const fs = require('fs');
const path = require('path');

fs.mkdirSync('dist', { recursive: true });
for (const f of fs.readdirSync('src')) {
  const text = fs.readFileSync(path.join('src', f), 'utf8');
  fs.writeFileSync(path.join('dist', f), `// built from src/${f}\n` + text);
}
console.log('built', fs.readdirSync('dist').join(' '));
