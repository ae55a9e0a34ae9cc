// Preloaded (node --require) into the CLI child processes the error tests start: a connection to
// anything but loopback, or a DNS lookup of another name, fails loudly before any packet leaves.
'use strict';
const net = require('node:net');
const dns = require('node:dns');

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/;

function refuse(what) {
  process.stderr.write(`NON-LOOPBACK ${what}\n`);
  throw new Error(`the test allows loopback only: ${what}`);
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = first !== null && typeof first === 'object' ? first : { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
  if (options.path === undefined && !LOOPBACK.test(String(options.host ?? 'localhost'))) refuse(`connection to ${String(options.host)}:${String(options.port)}`);
  return connect.apply(this, args);
};

for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6']) {
  const original = dns[name];
  dns[name] = function guardedLookup(hostname, ...rest) {
    if (!LOOPBACK.test(String(hostname))) refuse(`DNS lookup of ${String(hostname)}`);
    return original.call(this, hostname, ...rest);
  };
}
