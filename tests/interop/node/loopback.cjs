// Preloaded into every interop Node script (`node --require loopback.cjs`): the Node side of the
// test suite's loopback guard (tests/loopback.py). Resolving or connecting to anything but
// loopback throws, and the refused name is printed on stderr after LOOPBACK_REFUSED, which the
// pytest side turns into a failure. The SDKs' defaults (login.microsoftonline.com,
// metadata.google.internal, 169.254.169.254, *.googleapis.com) must all be overridden.
'use strict';
const dns = require('node:dns');
const net = require('node:net');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', 'ip6-localhost']);
const isLoopback = host => host == null || LOOPBACK.has(String(host).toLowerCase()) || String(host).startsWith('127.');

function refuse(host) {
  process.stderr.write(`LOOPBACK_REFUSED ${host}\n`);
  const error = new Error(`interop scripts are loopback-only: refused ${host}`);
  error.code = 'ENOTFOUND';
  return error;
}

const realLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (!isLoopback(hostname)) {
    const done = typeof options === 'function' ? options : callback;
    process.nextTick(done, refuse(hostname));
    return {};
  }
  return realLookup.call(this, hostname, options, callback);
};
const realPromiseLookup = dns.promises.lookup;
dns.promises.lookup = async function lookup(hostname, options) {
  if (!isLoopback(hostname)) throw refuse(hostname);
  return realPromiseLookup.call(this, hostname, options);
};

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const first = args[0];
  const options = Array.isArray(first) ? first[0] : first;
  const host = typeof options === 'object' && options !== null ? options.host : typeof args[1] === 'string' ? args[1] : undefined;
  const path = typeof options === 'object' && options !== null ? options.path : undefined;
  if (!path && !isLoopback(host)) {
    const error = refuse(host);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return realConnect.apply(this, args);
};
