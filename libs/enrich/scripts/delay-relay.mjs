#!/usr/bin/env node
// A UDP relay on 127.0.0.1 that forwards DNS queries to an upstream (the local dnsmasq) and holds each answer
// for a fixed delay: a stand-in for a recursive resolver some milliseconds away, for measure-enrich.mjs.
// Prints "port <n>" on stdout when ready; exits when stdin closes (its parent went away).
//   node delay-relay.mjs <upstream host:port> <delay ms>
import dgram from 'node:dgram';

const [upstream = '127.0.0.1:15353', delayText = '20'] = process.argv.slice(2);
const colon = upstream.lastIndexOf(':');
const upstreamHost = upstream.slice(0, colon);
const upstreamPort = Number(upstream.slice(colon + 1));
const delayMs = Number(delayText);

const front = dgram.createSocket('udp4');
const back = dgram.createSocket('udp4');
// DNS message id -> the client that asked (one client at a time uses the relay, and its ids are unique
// among its queries in flight).
const clients = new Map();
front.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  clients.set(msg.readUInt16BE(0), rinfo);
  back.send(msg, upstreamPort, upstreamHost);
});
back.on('message', (msg) => {
  if (msg.length < 12) return;
  const id = msg.readUInt16BE(0);
  const client = clients.get(id);
  if (!client) return;
  clients.delete(id);
  setTimeout(() => front.send(msg, client.port, client.address), delayMs);
});
back.bind(0, '127.0.0.1', () => {
  front.bind(0, '127.0.0.1', () => {
    process.stdout.write(`port ${front.address().port}\n`);
  });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
