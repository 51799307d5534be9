// The CLI from its compiled modules (apps/cli/dist and the libraries' dist/) instead of the bundle, for the
// profile case: in the bundle every function sits in a chunk of many packages, here in its own source file.
import v8 from 'node:v8';

// As bin/load-bundle.js runs the bundle.
v8.setFlagsFromString('--heap-growing-percent=100');
const { main } = await import('../../apps/cli/dist/main.js');
process.exitCode = await main(process.argv.slice(2));
